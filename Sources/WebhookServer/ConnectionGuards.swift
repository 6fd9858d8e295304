import NIOCore
import NIOHTTP2
import NIOTLS
import Synchronization

/// Tracks open connections: refuses those above the limit, so a flood cannot exhaust file descriptors,
/// and closes the stragglers when the shutdown grace period is over.
final class ConnectionCounter: Sendable {
    private let open = Mutex<[ObjectIdentifier: any Channel]>([:])
    let limit: Int

    init(limit: Int) { self.limit = limit }

    /// Admits a new connection, or returns false when the server is full.
    func admit(_ channel: any Channel) -> Bool {
        open.withLock { channels in
            guard channels.count < limit else { return false }
            channels[ObjectIdentifier(channel)] = channel
            return true
        }
    }

    func release(_ channel: any Channel) {
        _ = open.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    var count: Int { open.withLock { $0.count } }

    /// Closes every open connection; the future completes when all are closed.
    func closeAll(on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        let channels = open.withLock { Array($0.values) }
        for channel in channels { channel.close(promise: nil) }
        return EventLoopFuture.andAllComplete(channels.map(\.closeFuture), on: eventLoop)
    }
}

/// Closes a connection whose TLS handshake has not finished in time.
final class HandshakeTimeoutHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    private let timeout: TimeAmount
    private var task: Scheduled<Void>?

    init(timeout: TimeAmount) { self.timeout = timeout }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        task = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // Pass the event on first: the ALPN handler behind us waits for it, and a removed
        // context no longer forwards anything.
        context.fireUserInboundEventTriggered(event)
        if case .handshakeCompleted = event as? TLSUserEvent {
            task?.cancel()
            task = nil
            context.pipeline.syncOperations.removeHandler(self, promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        task?.cancel()
    }
}

/// Closes a connection on `IdleStateHandler`'s event: no bytes either way for the idle timeout.
final class IdleCloseHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}

/// Sent inbound by `RequestDeadlineHandler` when a request has run out of time, so that the handler holding
/// the request can answer 408 before the connection goes.
struct RequestDeadlineExceededEvent: Sendable {}

/// HTTP/1.1 only: from the first byte of a request to its response, at most `timeout`; a client that
/// trickles its headers (slowloris) is closed. Idle time between requests is not counted.
///
/// When the time is up it sends `RequestDeadlineExceededEvent` down the pipeline: `WebhookRequestHandler`
/// answers 408 and closes if it has the request head, and closes at once if not. The connection is closed
/// `answerGrace` later whatever happens, so a client that does not read cannot keep it.
final class RequestDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let timeout: TimeAmount
    private let answerGrace: TimeAmount = .seconds(1)
    private var task: Scheduled<Void>?

    init(timeout: TimeAmount) { self.timeout = timeout }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if task == nil {
            let channel = context.channel
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            let grace = answerGrace
            task = context.eventLoop.scheduleTask(in: timeout) {
                channel.eventLoop.scheduleTask(in: grace) { channel.close(promise: nil) }
                loopBound.value.fireUserInboundEventTriggered(RequestDeadlineExceededEvent())
            }
        }
        context.fireChannelRead(data)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        if event is RequestCompletedEvent {
            task?.cancel()
            task = nil
            promise?.succeed()
            return
        }
        context.triggerUserOutboundEvent(event, promise: promise)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        task?.cancel()
    }
}

/// Counts the open streams of one HTTP/2 connection, and tells the connection manager too.
final class StreamCounter: NIOHTTP2StreamDelegate {
    private let inner: any NIOHTTP2StreamDelegate
    private let open = Atomic<Int>(0)

    init(forwardingTo inner: any NIOHTTP2StreamDelegate) { self.inner = inner }

    var count: Int { open.load(ordering: .relaxed) }

    func streamCreated(_ id: HTTP2StreamID, channel: any Channel) {
        open.wrappingAdd(1, ordering: .relaxed)
        inner.streamCreated(id, channel: channel)
    }

    func streamClosed(_ id: HTTP2StreamID, channel: any Channel) {
        open.wrappingSubtract(1, ordering: .relaxed)
        inner.streamClosed(id, channel: channel)
    }
}

/// On drain, closes an HTTP/2 connection as soon as it has no open stream.
///
/// The connection manager sends GOAWAY and a PING on quiesce but closes only after the PING is
/// acknowledged, which an idle client that is not reading never does. After `window` (time for the
/// GOAWAY to arrive and for streams already sent to open) this closes the connection once it is idle.
final class QuiescedConnectionCloser: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    private let streams: StreamCounter
    private let window: TimeAmount
    private let interval: TimeAmount = .milliseconds(100)
    private var task: RepeatedTask?

    init(streams: StreamCounter, window: TimeAmount = .seconds(1)) {
        self.streams = streams
        self.window = window
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent, task == nil {
            let channel = context.channel
            let streams = streams
            task = context.eventLoop.scheduleRepeatedTask(initialDelay: window, delay: interval) { task in
                if streams.count == 0 {
                    task.cancel()
                    channel.close(promise: nil)
                }
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        task?.cancel()
    }

    func channelInactive(context: ChannelHandlerContext) {
        task?.cancel()
        task = nil
        context.fireChannelInactive()
    }
}
