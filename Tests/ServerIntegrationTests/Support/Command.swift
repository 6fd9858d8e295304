import TestSupport
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The outcome of one finished command.
struct CommandResult: Sendable, CustomStringConvertible {
    var status: Int32
    /// False when the process was killed by a signal (including our own timeout kill).
    var exited: Bool
    var timedOut: Bool
    var stdout: String
    var stderr: String
    var elapsed: Duration

    /// Both streams, for `contains` checks on tools (curl -v, s_client) that mix them.
    var output: String { stdout + stderr }

    var description: String {
        "status \(status)\(exited ? "" : " (signal)")\(timedOut ? " (timed out)" : "") after \(elapsed)\n--- stdout ---\n\(stdout.prefix(4000))\n--- stderr ---\n\(stderr.prefix(4000))"
    }
}

/// Fires once when a process exits; async waiters are resumed then (or when their task is cancelled).
final class ExitEvent: @unchecked Sendable {
    private let lock = NSLock()
    private var fired = false
    private var waiters: [UUID: CheckedContinuation<Void, Never>] = [:]

    func fire() {
        lock.lock()
        fired = true
        let pending = waiters
        waiters = [:]
        lock.unlock()
        for continuation in pending.values { continuation.resume() }
    }

    var hasFired: Bool {
        lock.lock()
        defer { lock.unlock() }
        return fired
    }

    /// Returns when the event fired or the task was cancelled.
    func wait() async {
        let id = UUID()
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                lock.lock()
                if fired || Task.isCancelled {
                    lock.unlock()
                    continuation.resume()
                } else {
                    waiters[id] = continuation
                    lock.unlock()
                }
            }
        } onCancel: {
            lock.lock()
            let continuation = waiters.removeValue(forKey: id)
            lock.unlock()
            continuation?.resume()
        }
    }

    /// True when the event fired within `timeout`.
    func wait(timeout: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await self.wait()
                return true
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first || hasFired
        }
    }
}

/// A child process whose output goes to files (never pipes: a pipe's write end inherited by an unrelated,
/// long-lived child would keep a reader waiting for EOF).
final class RunningCommand: @unchecked Sendable {
    let process = Process()
    let scratch: TemporaryDirectory
    let stdoutPath: String
    let stderrPath: String
    /// Set when `stdin: .pipe` was asked for.
    let stdinPipe: Pipe?
    let started = ContinuousClock.now
    private(set) var timedOut = false
    let exited = ExitEvent()

    enum Input {
        case null
        case bytes(Data)
        case pipe
    }

    init(_ executable: String, _ arguments: [String], stdin: Input = .null, environment: [String: String]? = nil,
         currentDirectory: URL? = nil) throws {
        scratch = try TemporaryDirectory("nonroot-cmd")
        stdoutPath = scratch.file("stdout")
        stderrPath = scratch.file("stderr")
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: try RunningCommand.resolve(executable))
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let currentDirectory { process.currentDirectoryURL = currentDirectory }
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        switch stdin {
        case .null:
            stdinPipe = nil
            process.standardInput = FileHandle(forReadingAtPath: "/dev/null")
        case .bytes(let data):
            stdinPipe = nil
            let path = try scratch.write("stdin", bytes: data)
            process.standardInput = FileHandle(forReadingAtPath: path)
        case .pipe:
            let pipe = Pipe()
            stdinPipe = pipe
            process.standardInput = pipe
        }
        let exited = exited
        process.terminationHandler = { _ in exited.fire() }
        try process.run()
        ChildProcesses.register(process.processIdentifier)
        // Our copy of the pipe's read end is the child's business now.
        if let stdinPipe { try? stdinPipe.fileHandleForReading.close() }
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    func writeStdin(_ text: String) {
        try? stdinPipe?.fileHandleForWriting.write(contentsOf: Data(text.utf8))
    }

    func closeStdin() {
        try? stdinPipe?.fileHandleForWriting.close()
    }

    func signal(_ number: Int32) {
        if process.isRunning { kill(process.processIdentifier, number) }
    }

    /// Waits for the exit, killing the process (SIGKILL) when `timeout` passes first.
    func wait(timeout: Duration) async -> CommandResult {
        let remaining = started + timeout - ContinuousClock.now
        if await !exited.wait(timeout: max(remaining, .zero)) {
            timedOut = true
            kill(process.processIdentifier, SIGKILL)
            _ = await exited.wait(timeout: .seconds(5))
        }
        return finish()
    }

    /// The blocking form of `wait`, for synchronous setup code.
    func waitBlocking(timeout: Duration) -> CommandResult {
        let deadline = started + timeout
        while process.isRunning {
            if ContinuousClock.now >= deadline {
                timedOut = true
                kill(process.processIdentifier, SIGKILL)
                break
            }
            usleep(5_000)
        }
        return finish()
    }

    /// Waits (without killing) until the process has exited or `timeout` passed; true when it exited.
    func waitForExit(within timeout: Duration) async -> Bool {
        await exited.wait(timeout: timeout)
    }

    private func finish() -> CommandResult {
        process.waitUntilExit()
        ChildProcesses.unregister(process.processIdentifier)
        let elapsed = ContinuousClock.now - started
        return CommandResult(
            status: process.terminationStatus, exited: process.terminationReason == .exit, timedOut: timedOut,
            stdout: stdout, stderr: stderr, elapsed: elapsed)
    }

    /// Kills the process if it still runs; used by cleanup paths.
    func kill9() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        ChildProcesses.unregister(process.processIdentifier)
    }

    deinit {
        kill9()
    }

    static func resolve(_ executable: String) throws -> String {
        if executable.contains("/") { return executable }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(executable)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw CommandError("\(executable) is not installed (scripts/test.sh installs it)")
    }
}

struct CommandError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

enum Command {
    /// Runs a command to completion (or kills it after `timeout`).
    static func run(_ executable: String, _ arguments: [String], stdin: RunningCommand.Input = .null,
                    environment: [String: String]? = nil, currentDirectory: URL? = nil,
                    timeout: Duration = .seconds(20)) async throws -> CommandResult {
        let command = try RunningCommand(executable, arguments, stdin: stdin, environment: environment, currentDirectory: currentDirectory)
        return await command.wait(timeout: timeout)
    }

    static func runBlocking(_ executable: String, _ arguments: [String], stdin: RunningCommand.Input = .null,
                            currentDirectory: URL? = nil, timeout: Duration = .seconds(20)) throws -> CommandResult {
        let command = try RunningCommand(executable, arguments, stdin: stdin, currentDirectory: currentDirectory)
        return command.waitBlocking(timeout: timeout)
    }
}
