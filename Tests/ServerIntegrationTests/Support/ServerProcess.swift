import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A real `nonroot-admission serve` process on loopback, with the ports it actually bound.
///
/// Its standard error (JSON log lines) goes to a file that `logLines` reads afresh on every call. Use
/// `ServerProcess.with { … }`: the process is killed when the closure returns or throws, and, as a
/// last resort, at test-process exit.
final class ServerProcess: @unchecked Sendable {
    static let executable = TestPaths.packageRoot.appendingPathComponent(".build/debug/nonroot-admission").path

    let command: RunningCommand
    let port: Int
    let metricsPort: Int
    let arguments: [String]

    /// The flags every test server gets before its own.
    static func standardArguments(cert: String, key: String) -> [String] {
        [
            "serve", "--tls-cert-file", cert, "--tls-key-file", key,
            "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0",
            "--images", "Examples/images.yaml", "--cert-refresh-interval", "1s", "--shutdown-delay", "1s",
        ]
    }

    /// Starts a server with `standardArguments` plus `extra`, and waits (at most 30 s: a loaded 2-core CI machine can take seconds to start a debug build; start-up time itself is measured in Benchmarks/) for its "serving" line.
    static func start(cert: String, key: String, _ extra: [String] = []) async throws -> ServerProcess {
        try await start(arguments: standardArguments(cert: cert, key: key) + extra)
    }

    /// Starts `nonroot-admission` with exactly `arguments` (and `environment` added to ours).
    static func start(arguments: [String], environment: [String: String] = [:]) async throws -> ServerProcess {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw CommandError("build the executable first: swift build --product nonroot-admission")
        }
        // Only the variables a test sets: an inherited NONROOT_ADMISSION_* would change every server.
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("NONROOT_ADMISSION_") }
        for (key, value) in environment { env[key] = value }
        let command = try RunningCommand(executable, arguments, environment: env, currentDirectory: TestPaths.packageRoot)
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            for line in ServerProcess.lines(command.stderr) {
                guard let object = ServerProcess.parse(line), object["message"] as? String == "serving" else { continue }
                guard let listen = object["listen"] as? String, let port = ServerProcess.port(in: listen),
                      let metricsListen = object["metricsListen"] as? String, let metricsPort = ServerProcess.port(in: metricsListen)
                else {
                    command.kill9()
                    throw CommandError("cannot read the bound ports from the serving line: \(line)")
                }
                return ServerProcess(command: command, port: port, metricsPort: metricsPort, arguments: arguments)
            }
            if !command.isRunning {
                let result = await command.wait(timeout: .seconds(1))
                throw CommandError("server exited before serving: \(result)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        command.kill9()
        throw CommandError("no \"serving\" log line within 30 s; stderr:\n\(command.stderr)")
    }

    /// Runs `body` with a started server, then kills it whatever happened.
    static func with<T>(cert: String, key: String, _ extra: [String] = [], _ body: (ServerProcess) async throws -> T) async throws -> T {
        let server = try await start(cert: cert, key: key, extra)
        defer { server.kill() }
        return try await body(server)
    }

    private init(command: RunningCommand, port: Int, metricsPort: Int, arguments: [String]) {
        self.command = command
        self.port = port
        self.metricsPort = metricsPort
        self.arguments = arguments
    }

    deinit { command.kill9() }

    var pid: Int32 { command.pid }
    var isRunning: Bool { command.isRunning }

    /// `https://127.0.0.1:PORT` + path.
    func url(_ path: String = "/validate") -> String { "https://127.0.0.1:\(port)\(path)" }

    /// Every log line so far.
    var logLines: [String] { ServerProcess.lines(command.stderr) }

    /// The log lines that are JSON objects, parsed.
    var logRecords: [[String: Any]] { logLines.compactMap(ServerProcess.parse) }

    /// The last 40 log lines, for failure messages.
    var logTail: String { logLines.suffix(40).joined(separator: "\n") }

    /// Sends SIGTERM.
    func terminate() { command.signal(SIGTERM) }

    /// Waits for the process to exit; returns its exit status, or -1000 - signal when a signal
    /// ended it, or nil when it is still running after `timeout`.
    func waitForExit(timeout: Duration) async -> Int32? {
        guard await command.waitForExit(within: timeout) else { return nil }
        let result = await command.wait(timeout: .seconds(1))
        return result.exited ? result.status : -1000 - result.status
    }

    func kill() { command.kill9() }

    /// Waits until some log line satisfies `predicate`; returns it, or nil after `timeout`.
    func waitForLog(timeout: Duration = .seconds(5), _ predicate: ([String: Any]) -> Bool) async -> [String: Any]? {
        let deadline = ContinuousClock.now + timeout
        repeat {
            if let record = logRecords.first(where: predicate) { return record }
            try? await Task.sleep(for: .milliseconds(20))
        } while ContinuousClock.now < deadline
        return nil
    }

    static func lines(_ text: String) -> [String] {
        text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }

    static func parse(_ line: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
    }

    /// The digits after the last colon of a bound address such as `[IPv4]127.0.0.1/127.0.0.1:43215`.
    static func port(in address: String) -> Int? {
        guard let colon = address.lastIndex(of: ":") else { return nil }
        let digits = address[address.index(after: colon)...]
        guard !digits.isEmpty, digits.allSatisfy(\.isNumber), let port = Int(digits), port > 0 else { return nil }
        return port
    }
}
