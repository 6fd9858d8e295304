import NIOCore
import Synchronization

/// Tracks established connections (after the TLS handshake) against `--max-connections`. When full, a new
/// connection takes the slot of the longest-idle one (no request in flight), which is closed; it is
/// refused only when every connection has a request in flight. Closes the stragglers when the shutdown
/// grace period is over.
final class ConnectionCounter: Sendable {
    enum Admission {
        case admitted
        /// Admitted in place of this idle connection, which the caller closes.
        case admittedEvicting(any Channel)
        case refused
    }

    private struct Entry {
        let channel: any Channel
        let activity: ConnectionActivity
    }

    private let open = Mutex<[ObjectIdentifier: Entry]>([:])
    let limit: Int
    /// Told the new count on every change, under the lock, so a gauge never keeps a stale value.
    private let countChanged: @Sendable (Int) -> Void

    init(limit: Int, countChanged: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.limit = limit
        self.countChanged = countChanged
    }

    func admit(_ channel: any Channel, activity: ConnectionActivity) -> Admission {
        open.withLock { entries in
            let entry = Entry(channel: channel, activity: activity)
            guard entries.count >= limit else {
                entries[ObjectIdentifier(channel)] = entry
                countChanged(entries.count)
                return .admitted
            }
            // Longest idle first; ties (same instant) are rare and any one of them will do.
            var victim: (key: ObjectIdentifier, since: NIODeadline)?
            for (key, candidate) in entries where candidate.activity.isIdle {
                let since = candidate.activity.idleSince
                if victim.map({ since < $0.since }) ?? true { victim = (key, since) }
            }
            guard let victim, let evicted = entries.removeValue(forKey: victim.key) else { return .refused }
            entries[ObjectIdentifier(channel)] = entry
            return .admittedEvicting(evicted.channel)
        }
    }

    func release(_ channel: any Channel) {
        open.withLock { entries in
            if entries.removeValue(forKey: ObjectIdentifier(channel)) != nil { countChanged(entries.count) }
        }
    }

    var count: Int { open.withLock { $0.count } }

    /// Closes every open connection; the future completes when all are closed.
    func closeAll(on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        let channels = open.withLock { $0.values.map(\.channel) }
        for channel in channels { channel.close(promise: nil) }
        return EventLoopFuture.andAllComplete(channels.map(\.closeFuture), on: eventLoop)
    }
}
