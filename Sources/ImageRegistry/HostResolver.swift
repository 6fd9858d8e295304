import NIOPosix
import Synchronization

/// Resolves registry host names with `getaddrinfo` on a small pool of its own, so a slow or
/// unanswering DNS server holds at most `threads` threads and never NIO's shared pool (file I/O,
/// certificate reloads). A lookup waits for a thread, then for its answer, until its deadline;
/// past it the lookup fails while the thread finishes the call (getaddrinfo cannot be interrupted)
/// and only then takes the next host.
final class HostResolver: Sendable {
    /// Threads, and so concurrent `getaddrinfo` calls.
    static let threads = 2
    /// A resolution gets this long at most, within the lookup's deadline, leaving time to connect.
    static let timeout: Duration = .seconds(2)

    private let pool: NIOThreadPool
    /// One unit per thread, released when a call returns, not when its waiter gives up.
    private let slots: RegistryGate

    init() {
        pool = NIOThreadPool(numberOfThreads: HostResolver.threads)
        pool.start()
        slots = RegistryGate(capacity: HostResolver.threads, maximumWaiters: 256)
    }

    func shutdown() async {
        try? await pool.shutdownGracefully()
    }

    /// The addresses of `host`, or why there are none, by `deadline` (and within `timeout`).
    func resolve(_ host: String, deadline: ContinuousClock.Instant) async throws(RegistryError) -> [IPAddress] {
        if let literal = IPAddress(host) { return [literal] }
        let started = ContinuousClock.now
        let deadline = min(deadline, started + HostResolver.timeout)
        guard await slots.acquire(1, deadline: deadline) else {
            throw .dns(host: host, reason: "timed out after \(RegistryError.format(.now - started)) waiting for one of \(HostResolver.threads) resolver threads")
        }
        let answer = OnceAnswer()
        let result: Result<[IPAddress], RegistryError> = await withTaskGroup(of: Void.self) { group in
            group.addTask {
                try? await Task.sleep(until: deadline, clock: .continuous)
                answer.give(.failure(.dns(host: host, reason: "no answer within \(RegistryError.format(deadline - started))")))
            }
            let value = await withCheckedContinuation { continuation in
                answer.set(continuation)
                pool.submit { [slots] state in
                    defer { slots.release(1) }
                    guard case .active = state else {
                        answer.give(.failure(.dns(host: host, reason: "resolver unavailable")))
                        return
                    }
                    answer.give(AddressPolicy.getaddrinfoAddresses(host))
                }
            }
            group.cancelAll()
            return value
        }
        return try result.get()
    }
}

/// The first of several answers (the resolver thread or the timer); later ones are dropped.
private final class OnceAnswer: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Result<[IPAddress], RegistryError>, Never>?
        var early: Result<[IPAddress], RegistryError>?
        var done = false
    }

    private let state = Mutex(State())

    func set(_ continuation: CheckedContinuation<Result<[IPAddress], RegistryError>, Never>) {
        let early = state.withLock { state -> Result<[IPAddress], RegistryError>? in
            if let early = state.early {
                state.done = true
                return early
            }
            state.continuation = continuation
            return nil
        }
        if let early { continuation.resume(returning: early) }
    }

    func give(_ result: Result<[IPAddress], RegistryError>) {
        let continuation = state.withLock { state -> CheckedContinuation<Result<[IPAddress], RegistryError>, Never>? in
            guard !state.done else { return nil }
            guard let continuation = state.continuation else {
                if state.early == nil { state.early = result }
                return nil
            }
            state.done = true
            state.continuation = nil
            return continuation
        }
        continuation?.resume(returning: result)
    }
}
