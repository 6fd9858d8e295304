import NIOCore
import NIOHTTP2
import Synchronization

/// Counts the open streams of one HTTP/2 connection, tells the connection manager too, and reports each
/// stream to the connection's activity as a request in flight.
final class StreamCounter: NIOHTTP2StreamDelegate {
    private let inner: any NIOHTTP2StreamDelegate
    private let activity: ConnectionActivity?
    private let open = Atomic<Int>(0)

    init(forwardingTo inner: any NIOHTTP2StreamDelegate, activity: ConnectionActivity? = nil) {
        self.inner = inner
        self.activity = activity
    }

    var count: Int { open.load(ordering: .relaxed) }

    func streamCreated(_ id: HTTP2StreamID, channel: any Channel) {
        open.wrappingAdd(1, ordering: .relaxed)
        activity?.requestStarted()
        inner.streamCreated(id, channel: channel)
    }

    func streamClosed(_ id: HTTP2StreamID, channel: any Channel) {
        open.wrappingSubtract(1, ordering: .relaxed)
        activity?.requestFinished()
        inner.streamClosed(id, channel: channel)
    }
}
