import NIOCore
import Synchronization

/// What a listener knows about one established connection: requests in flight, and since when it has
/// had none. `ConnectionCounter` reads it to pick the connection to close when the server is full.
///
/// Written on the connection's event loop (by `RequestDeadlineHandler` or `StreamCounter`), read by
/// whichever loop accepts a new connection: hence atomics.
final class ConnectionActivity: Sendable {
    private let inFlight = Atomic<Int>(0)
    private let started = Atomic<Int>(0)
    private let idleSinceNanoseconds: Atomic<UInt64>

    init(now: NIODeadline = .now()) {
        idleSinceNanoseconds = Atomic(now.uptimeNanoseconds)
    }

    func requestStarted() {
        inFlight.wrappingAdd(1, ordering: .relaxed)
        started.wrappingAdd(1, ordering: .relaxed)
    }

    func requestFinished(now: NIODeadline = .now()) {
        if inFlight.wrappingSubtract(1, ordering: .relaxed).newValue == 0 {
            idleSinceNanoseconds.store(now.uptimeNanoseconds, ordering: .relaxed)
        }
    }

    /// No request in flight: closing it loses nothing (a client reconnects).
    var isIdle: Bool { inFlight.load(ordering: .relaxed) <= 0 }

    /// Whether any request has begun on it since it was established.
    var hasStartedRequest: Bool { started.load(ordering: .relaxed) > 0 }

    /// When its last request finished, or when it was established if none has.
    var idleSince: NIODeadline { .uptimeNanoseconds(idleSinceNanoseconds.load(ordering: .relaxed)) }
}
