import NIOCore
import Synchronization

/// Bounds connections still in their TLS handshake, in total and per source address, so that one pod
/// opening sockets and never finishing a handshake cannot take the slots the apiserver needs.
///
/// Nothing is refused: past a bound the oldest pending handshake (of that source, or overall) is closed
/// to make room. A real handshake takes milliseconds, so the oldest are the stalled ones.
final class HandshakeGate: Sendable {
    private struct Entry {
        let channel: any Channel
        let source: String
        let sequence: Int
    }

    private struct State {
        var entries: [ObjectIdentifier: Entry] = [:]
        var perSource: [String: Int] = [:]
        var sequence = 0

        func oldest(where predicate: (Entry) -> Bool) -> ObjectIdentifier? {
            entries.filter { predicate($0.value) }.min { $0.value.sequence < $1.value.sequence }?.key
        }

        mutating func remove(_ key: ObjectIdentifier) -> Entry? {
            guard let entry = entries.removeValue(forKey: key) else { return nil }
            let left = (perSource[entry.source] ?? 1) - 1
            perSource[entry.source] = left > 0 ? left : nil
            return entry
        }
    }

    private let state = Mutex(State())
    let limit: Int
    let perSourceLimit: Int

    /// Told the new count on every change, under the lock, so a gauge never keeps a stale value.
    private let countChanged: @Sendable (Int) -> Void

    init(limit: Int, perSourceLimit: Int, countChanged: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.limit = limit
        self.perSourceLimit = perSourceLimit
        self.countChanged = countChanged
    }

    /// Counts a new connection from `source`; returns the pending connections to close to make room.
    func admit(_ channel: any Channel, source: String) -> [any Channel] {
        state.withLock { state in
            var evicted: [any Channel] = []
            while (state.perSource[source] ?? 0) >= perSourceLimit, let oldest = state.oldest(where: { $0.source == source }),
                  let entry = state.remove(oldest) {
                evicted.append(entry.channel)
            }
            while state.entries.count >= limit, let oldest = state.oldest(where: { _ in true }), let entry = state.remove(oldest) {
                evicted.append(entry.channel)
            }
            state.sequence += 1
            state.entries[ObjectIdentifier(channel)] = Entry(channel: channel, source: source, sequence: state.sequence)
            state.perSource[source, default: 0] += 1
            countChanged(state.entries.count)
            return evicted
        }
    }

    /// The handshake finished or the connection closed; calling it again does nothing.
    func release(_ channel: any Channel) {
        state.withLock { state in
            if state.remove(ObjectIdentifier(channel)) != nil { countChanged(state.entries.count) }
        }
    }

    var count: Int { state.withLock { $0.entries.count } }

    /// The source key: the peer's IP address without its port.
    static func source(of channel: any Channel) -> String {
        channel.remoteAddress?.ipAddress ?? "unknown"
    }
}
