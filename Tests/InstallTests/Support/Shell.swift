import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// An error with a message, for failures of the tools the tests drive.
struct InstallTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// One finished command.
struct ShellResult: CustomStringConvertible {
    var arguments: [String]
    var status: Int32
    var timedOut: Bool
    var stdout: String
    var stderr: String

    var succeeded: Bool { status == 0 && !timedOut }

    var description: String {
        "\(arguments.joined(separator: " ")): status \(status)\(timedOut ? " (timed out)" : "")\n--- stdout ---\n\(stdout.suffix(6000))\n--- stderr ---\n\(stderr.suffix(6000))"
    }
}

/// Runs real commands through Foundation's Process. Output goes to files, so a chatty command never
/// blocks on a full pipe.
enum Shell {
    /// The first `name` on PATH, or nil.
    static func which(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs `command arguments…` to completion (killed after `timeout`).
    static func run(
        _ command: String, _ arguments: [String], in directory: URL = TestPaths.packageRoot,
        environment: [String: String] = [:], stdin: String? = nil, timeout: Duration = .seconds(120)
    ) async throws -> ShellResult {
        guard let executable = which(command) else {
            throw InstallTestError("\(command) is not installed (scripts/test.sh installs what the tests need)")
        }
        let scratch = try TemporaryDirectory("nonroot-install-cmd")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = directory
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("NONROOT_ADMISSION_") }
        for (key, value) in environment { env[key] = value }
        process.environment = env
        _ = FileManager.default.createFile(atPath: scratch.file("out"), contents: nil)
        _ = FileManager.default.createFile(atPath: scratch.file("err"), contents: nil)
        let out = try FileHandle(forWritingTo: scratch.url.appendingPathComponent("out"))
        let err = try FileHandle(forWritingTo: scratch.url.appendingPathComponent("err"))
        defer {
            try? out.close()
            try? err.close()
        }
        process.standardOutput = out
        process.standardError = err
        if let stdin {
            let input = try scratch.write("in", stdin)
            process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: input))
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        try process.run()
        ChildProcesses.register(process.processIdentifier)
        let deadline = ContinuousClock.now + timeout
        var timedOut = false
        while process.isRunning {
            if ContinuousClock.now > deadline {
                timedOut = true
                kill(process.processIdentifier, SIGKILL)
                break
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        process.waitUntilExit()
        ChildProcesses.unregister(process.processIdentifier)
        return ShellResult(
            arguments: [command] + arguments, status: process.terminationStatus, timedOut: timedOut,
            stdout: (try? String(contentsOfFile: scratch.file("out"), encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: scratch.file("err"), encoding: .utf8)) ?? "")
    }

    /// Like `run`, but throws unless the command exits 0; returns standard output.
    @discardableResult
    static func check(_ command: String, _ arguments: [String], in directory: URL = TestPaths.packageRoot,
                      environment: [String: String] = [:], timeout: Duration = .seconds(120)) async throws -> String {
        let result = try await run(command, arguments, in: directory, environment: environment, timeout: timeout)
        guard result.succeeded else { throw InstallTestError("command failed: \(result)") }
        return result.stdout
    }
}
