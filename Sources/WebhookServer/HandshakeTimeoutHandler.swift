import NIOCore
import NIOTLS

/// Closes a connection whose TLS handshake has not finished in time; when it finishes, calls
/// `onCompleted` (which counts the connection as established) and leaves the pipeline.
final class HandshakeTimeoutHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    private let timeout: TimeAmount
    private let onCompleted: (any Channel) -> Void
    private var task: Scheduled<Void>?

    init(timeout: TimeAmount, onCompleted: @escaping (any Channel) -> Void = { _ in }) {
        self.timeout = timeout
        self.onCompleted = onCompleted
    }

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
            let channel = context.channel
            context.pipeline.syncOperations.removeHandler(self, promise: nil)
            onCompleted(channel)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        task?.cancel()
    }
}
