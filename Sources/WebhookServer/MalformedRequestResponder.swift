import Logging
import NIOCore
import NIOHTTP1

/// NIO's `HTTPServerProtocolErrorHandler`, for a request that HTTP/1.1's parser refuses (a header block
/// over its 80 KiB limit, a bad token, a bad chunk size), but answering with a `metav1.Status` body and
/// counting and logging the refusal like every other. The connection closes after the answer: the
/// decoder stops at the first parser error.
///
/// Unlike NIO's handler it does not watch responses for one in flight: `HTTPServerPipelineHandler`, always
/// in front of it here, holds a parser error until the response in flight has ended, so the refusal never
/// interleaves with another answer. Watching cost three `NIOAny` casts a review.
final class MalformedRequestResponder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let context: WebhookContext

    init(context: WebhookContext) {
        self.context = context
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        let refusal = HTTPErrorResponse.badRequest(Self.message(for: parserError))
        self.context.recordRefusal(refusal, path: nil)
        let body = refusal.body
        let headers = HTTPHeaders.json(length: body.count, closing: true)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: refusal.status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireErrorCaught(error)
    }

    static func message(for error: HTTPParserError) -> String {
        switch error {
        case .headerOverflow: "request headers are larger than 80 KiB"
        default: "malformed HTTP/1.1 request: \(error.debugDescription)"
        }
    }
}
