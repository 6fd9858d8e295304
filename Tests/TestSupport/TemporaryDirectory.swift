public import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A scratch directory removed when the object goes away (kept with `NONROOT_TEST_KEEP_TEMP=1`).
public final class TemporaryDirectory: @unchecked Sendable {
    public let url: URL
    public var path: String { url.path }

    public init(_ label: String = "nonroot-test") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    public func file(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// Writes `contents` to `name`, creating intermediate directories.
    @discardableResult
    public func write(_ name: String, _ contents: String) throws -> String {
        try write(name, bytes: Data(contents.utf8))
    }

    @discardableResult
    public func write(_ name: String, bytes: Data) throws -> String {
        let path = file(name)
        try FileManager.default.createDirectory(
            at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true)
        try bytes.write(to: URL(fileURLWithPath: path))
        return path
    }

    static var keep: Bool { ProcessInfo.processInfo.environment["NONROOT_TEST_KEEP_TEMP"] != nil }

    deinit {
        if !Self.keep { try? FileManager.default.removeItem(at: url) }
    }
}

/// Every child process a test started and has not yet reaped; killed at exit so that a failed test
/// never leaves a server or client running. Also removes process-wide scratch directories.
public enum ChildProcesses {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var pids: Set<Int32> = []
    nonisolated(unsafe) private static var directories: [String] = []
    nonisolated(unsafe) private static var installed = false

    public static func register(_ pid: Int32?) {
        lock.lock()
        defer { lock.unlock() }
        if let pid { pids.insert(pid) }
        if !installed {
            installed = true
            atexit { ChildProcesses.killAll() }
        }
    }

    public static func unregister(_ pid: Int32) {
        lock.lock()
        defer { lock.unlock() }
        pids.remove(pid)
    }

    /// Directories removed when the test process exits (for process-wide fixtures that never deinit).
    public static func removeAtExit(_ path: String) {
        register(nil)
        lock.lock()
        directories.append(path)
        lock.unlock()
    }

    public static func killAll() {
        lock.lock()
        let all = pids
        let scratch = directories
        lock.unlock()
        for pid in all { kill(pid, SIGKILL) }
        if !TemporaryDirectory.keep {
            for path in scratch { try? FileManager.default.removeItem(atPath: path) }
        }
    }
}
