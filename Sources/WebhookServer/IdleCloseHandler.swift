import NIOCore

/// Closes a connection that has moved no bytes either way for `timeout`: reads are counted when a read
/// burst ends, writes when they are handed down.
///
/// What `IdleStateHandler(allTimeout:)` followed by a close does, without its cost on every write: it
/// makes a promise per write to learn when the write completes, about 5k instructions per review. A write
/// the peer never drains still ends in a close, `timeout` after it was made rather than after it would
/// have completed, which is the same bound on a reader that stopped reading.
///
/// One timer per connection, re-armed only when it fires: activity just moves a timestamp.
final class IdleCloseHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    typealias OutboundIn = NIOAny

    private let timeout: TimeAmount
    private var lastActivity: NIODeadline = .distantPast
    /// Inside a read burst: the connection is not idle until it ends.
    private var reading = false
    private var timer: Scheduled<Void>?

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        if timer == nil { start(context: context) }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        reading = true
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if reading {
            reading = false
            lastActivity = context.eventLoop.now
        }
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        lastActivity = context.eventLoop.now
        context.write(data, promise: promise)
    }

    private func start(context: ChannelHandlerContext) {
        lastActivity = context.eventLoop.now
        arm(deadline: lastActivity + timeout, context: context)
    }

    private func arm(deadline: NIODeadline, context: ChannelHandlerContext) {
        let loop = context.eventLoop.assumeIsolatedUnsafeUnchecked()
        timer = loop.scheduleTask(deadline: deadline) { self.check(context: context) }
    }

    private func check(context: ChannelHandlerContext) {
        timer = nil
        guard context.channel.isActive else { return }
        let now = context.eventLoop.now
        if reading {
            arm(deadline: now + timeout, context: context)
        } else if now - lastActivity >= timeout {
            context.close(promise: nil)
        } else {
            arm(deadline: lastActivity + timeout, context: context)
        }
    }
}
