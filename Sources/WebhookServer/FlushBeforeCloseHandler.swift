import NIOCore

/// Flushes what was written before passing a close on.
///
/// On drain, `NIOHTTP2ServerConnectionManagementHandler` answers the client's PING ack with its final GOAWAY
/// (the last stream it will serve) and closes in the same read, deferring the flush to the end of the read;
/// swift-nio-ssl discards unflushed writes when it closes. The client then never learns that a stream it had
/// just opened was refused (and may be retried elsewhere), and reports a broken response instead.
final class FlushBeforeCloseHandler: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = NIOAny

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if mode == .all { context.flush() }
        context.close(mode: mode, promise: promise)
    }
}
