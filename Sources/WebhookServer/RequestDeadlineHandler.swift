import NIOCore

/// Sent inbound by `RequestDeadlineHandler` when a request has run out of time, so that the handler holding
/// the request can answer 408 before the connection goes.
struct RequestDeadlineExceededEvent: Sendable {}

/// HTTP/1.1 only: from the first byte of a request to its response, at most `timeout`; a client that
/// trickles its headers (slowloris) is closed. Idle time between requests is not counted.
///
/// The deadline starts at the first byte read while none runs. A response (`RequestCompletedEvent`) ends it,
/// unless the HTTP decoder still holds part of a pipelined next request (`HTTPDecoderBufferEvent`): then
/// a fresh deadline starts at once, since no further read may come to start one.
///
/// When the time is up it sends `RequestDeadlineExceededEvent` down the pipeline: `ReviewBodyCollector`
/// answers 408 and closes if it has the request head, and closes at once if not. The connection is closed
/// `answerGrace` later whatever happens, so a client that does not read cannot keep it.
///
/// A running deadline is a request in flight for `activity`, which keeps the connection from being evicted.
final class RequestDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let timeout: TimeAmount
    private let answerGrace: TimeAmount
    private let activity: ConnectionActivity?
    /// When the running request is out of time, or nil when none runs.
    private var deadline: NIODeadline?
    /// One timer per connection, not one per request: it is armed for the deadline that was current when
    /// it was scheduled and, when it fires early (that request finished, a later one runs), re-armed for
    /// the current one. Back-to-back requests on a kept-alive connection schedule about one timer per
    /// `timeout` instead of one each.
    private var timer: Scheduled<Void>?
    private var decoderHoldsBytes = false

    init(timeout: TimeAmount, answerGrace: TimeAmount = .seconds(1), activity: ConnectionActivity? = nil) {
        self.timeout = timeout
        self.answerGrace = answerGrace
        self.activity = activity
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if deadline == nil { start(context: context) }
        context.fireChannelRead(data)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        switch event {
        case is RequestCompletedEvent:
            stop()
            // Decide once the decoder has reported: a response written while it decodes comes before its report.
            let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
            context.eventLoop.execute {
                let (handler, context) = bound.value
                if handler.decoderHoldsBytes, handler.deadline == nil, context.channel.isActive { handler.start(context: context) }
            }
        case let buffered as HTTPDecoderBufferEvent:
            decoderHoldsBytes = buffered.holdsBytes
            if decoderHoldsBytes, deadline == nil { start(context: context) }
        default:
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        promise?.succeed()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stop()
        timer?.cancel()
        timer = nil
    }

    private func start(context: ChannelHandlerContext) {
        activity?.requestStarted()
        let deadline = context.eventLoop.now + timeout
        self.deadline = deadline
        if timer == nil { arm(at: deadline, context: context) }
    }

    private func arm(at deadline: NIODeadline, context: ChannelHandlerContext) {
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = bound.value
            handler.timerFired(context: context)
        }
    }

    private func timerFired(context: ChannelHandlerContext) {
        timer = nil
        guard let deadline else { return }
        guard deadline <= context.eventLoop.now else {
            arm(at: deadline, context: context)
            return
        }
        let channel = context.channel
        channel.eventLoop.scheduleTask(in: answerGrace) { channel.close(promise: nil) }
        context.fireUserInboundEventTriggered(RequestDeadlineExceededEvent())
    }

    private func stop() {
        guard deadline != nil else { return }
        deadline = nil
        activity?.requestFinished()
    }
}
