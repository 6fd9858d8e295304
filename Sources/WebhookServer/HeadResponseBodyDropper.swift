import NIOCore
import NIOHTTP1

/// Writes a response to HEAD without its body. NIO's own pipeline set-up gets this by telling the response
/// encoder each request's method; `configureDeadlineBoundHTTPServerPipeline` builds the decoder itself, so it
/// does it here. Sits after `HTTPServerPipelineHandler`, which hands on one request at a time.
final class HeadResponseBodyDropper: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private var answeringHead = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data) { answeringHead = head.method == .HEAD }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if answeringHead, case .body = unwrapOutboundIn(data) {
            promise?.succeed()
            return
        }
        context.write(data, promise: promise)
    }
}
