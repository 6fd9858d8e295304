import NIOCore

/// What a listener reports about its connections (to metrics).
struct ConnectionEvents: Sendable {
    /// A connection refused: the listener is full and every connection has a request in flight.
    var refused: @Sendable () -> Void = {}
    /// A connection closed to make room: `"handshake"` (a pending handshake) or `"idle"` (an established one).
    var evicted: @Sendable (_ stage: String) -> Void = { _ in }
}

/// One listener's connection policy: a bounded number of pending TLS handshakes (per source, too), a
/// bounded number of established connections where a newcomer takes the longest-idle one's slot, and
/// a short time from establishment to the first request.
struct ConnectionAdmission: Sendable {
    /// Nil on a plain-HTTP listener, where connections are established when accepted.
    let handshakes: HandshakeGate?
    let connections: ConnectionCounter
    let firstRequestTimeout: TimeAmount
    var events = ConnectionEvents()

    /// A TLS connection was accepted: it waits for its handshake as a pending one.
    func acceptPending(_ channel: any Channel) {
        guard let handshakes else { return }
        let evicted = handshakes.admit(channel, source: HandshakeGate.source(of: channel))
        for victim in evicted {
            events.evicted("handshake")
            victim.close(promise: nil)
        }
        channel.closeFuture.whenComplete { _ in handshakes.release(channel) }
    }

    /// The handshake finished (or, on plain HTTP, the connection was accepted): it takes an established
    /// slot, or is closed when none can be had. Returns whether it was admitted.
    @discardableResult
    func establish(_ channel: any Channel, activity: ConnectionActivity) -> Bool {
        handshakes?.release(channel)
        switch connections.admit(channel, activity: activity) {
        case .refused:
            events.refused()
            channel.close(promise: nil)
            return false
        case .admittedEvicting(let victim):
            events.evicted("idle")
            victim.close(promise: nil)
        case .admitted:
            break
        }
        // A connection that sends nothing holds a slot for nothing: it has `firstRequestTimeout` to begin.
        let firstRequest = channel.eventLoop.scheduleTask(in: firstRequestTimeout) {
            if !activity.hasStartedRequest { channel.close(promise: nil) }
        }
        let connections = connections
        channel.closeFuture.whenComplete { _ in
            firstRequest.cancel()
            connections.release(channel)
        }
        return true
    }
}
