#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch

/// Runs a credential provider plugin the way `exec.CommandContext` does: no shell, the request on
/// stdin, the response read from stdout (bounded), stderr discarded (it may echo secrets), and the
/// whole process group killed at the deadline so a grandchild cannot hold the pipe open.
enum PluginProcess {
    struct Failure: Error, Equatable {
        var reason: String
    }

    /// SIGPIPE would end the webhook if a plugin exits before reading its request: ignored once.
    private static let ignoreSIGPIPE: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    /// Runs on a Dispatch thread (the wait is blocking), so the cooperative pool is never held.
    static func run(
        path: String, arguments: [String], environment: [String], input: [UInt8], maximumOutput: Int,
        deadline: ContinuousClock.Instant
    ) async -> Result<[UInt8], Failure> {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: runBlocking(path: path, arguments: arguments, environment: environment, input: input, maximumOutput: maximumOutput, deadline: deadline))
            }
        }
    }

    #if os(Linux)
    private static func runBlocking(
        path: String, arguments: [String], environment: [String], input: [UInt8], maximumOutput: Int,
        deadline: ContinuousClock.Instant
    ) -> Result<[UInt8], Failure> {
        _ = ignoreSIGPIPE
        var stdinPipe: [Int32] = [-1, -1]
        var stdoutPipe: [Int32] = [-1, -1]
        guard pipe(&stdinPipe) == 0 else { return .failure(Failure(reason: "pipe: \(errorText(errno))")) }
        guard pipe(&stdoutPipe) == 0 else {
            close(stdinPipe[0]); close(stdinPipe[1])
            return .failure(Failure(reason: "pipe: \(errorText(errno))"))
        }
        // Close-on-exec, so no other plugin run inherits these ends (dup2 clears it on 0 and 1).
        for descriptor in stdinPipe + stdoutPipe { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdinPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)

        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        close(stdinPipe[0])
        close(stdoutPipe[1])
        guard spawned == 0 else {
            close(stdinPipe[1]); close(stdoutPipe[0])
            return .failure(Failure(reason: "fork/exec \(path): \(errorText(spawned))"))
        }
        defer { close(stdoutPipe[0]) }

        // The request is a few hundred bytes, well under a pipe's buffer: one non-blocking write.
        _ = fcntl(stdinPipe[1], F_SETFL, O_NONBLOCK)
        _ = input.withUnsafeBytes { write(stdinPipe[1], $0.baseAddress, $0.count) }
        close(stdinPipe[1])

        func killGroup() -> Result<[UInt8], Failure>? {
            kill(-pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0, errno == EINTR {}
            return nil
        }
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let remaining = deadline - .now
            guard remaining > .zero else {
                _ = killGroup()
                return .failure(Failure(reason: "context deadline exceeded"))
            }
            var descriptor = pollfd(fd: stdoutPipe[0], events: Int16(POLLIN), revents: 0)
            let milliseconds = Int32(min(remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000 + 1, 1000))
            let ready = poll(&descriptor, 1, milliseconds)
            if ready < 0, errno == EINTR { continue }
            if ready <= 0 { continue }
            let count = buffer.withUnsafeMutableBytes { read(stdoutPipe[0], $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                _ = killGroup()
                return .failure(Failure(reason: "read stdout: \(errorText(errno))"))
            }
            if count == 0 { break }
            output += buffer[..<count]
            if output.count > maximumOutput {
                _ = killGroup()
                return .failure(Failure(reason: "the response on stdout is larger than \(RegistryLimit.format(bytes: maximumOutput))"))
            }
        }
        // Stdout is closed: wait for the exit, until the deadline.
        var status: Int32 = 0
        while true {
            let waited = waitpid(pid, &status, WNOHANG)
            if waited == pid { break }
            if waited < 0, errno != EINTR { return .failure(Failure(reason: "wait: \(errorText(errno))")) }
            if deadline <= .now {
                _ = killGroup()
                return .failure(Failure(reason: "context deadline exceeded"))
            }
            usleep(2000)
        }
        // Whatever the plugin left running in its group goes with it.
        kill(-pid, SIGKILL)
        let signal = status & 0x7F
        if signal != 0 {
            return .failure(Failure(reason: "signal: \(signalName(signal))"))
        }
        let code = (status >> 8) & 0xFF
        guard code == 0 else { return .failure(Failure(reason: "exit status \(code)")) }
        return .success(output)
    }

    private static func signalName(_ signal: Int32) -> String {
        guard let text = strsignal(signal) else { return "\(signal)" }
        return String(cString: text).lowercased()
    }
    #else
    private static func runBlocking(
        path: String, arguments: [String], environment: [String], input: [UInt8], maximumOutput: Int,
        deadline: ContinuousClock.Instant
    ) -> Result<[UInt8], Failure> {
        .failure(Failure(reason: "credential provider plugins are supported on Linux only"))
    }
    #endif

    private static func errorText(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        return String(cString: text)
    }

    /// The process environment as `NAME=value` texts.
    static func currentEnvironment() -> [String] {
        var result: [String] = []
        #if os(Linux)
        var pointer = environ
        while let entry = pointer.pointee {
            result.append(String(cString: entry))
            pointer += 1
        }
        #endif
        return result
    }
}
