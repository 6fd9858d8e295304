import Logging
import NIOCore
import NIOHTTP1

/// NIO's `HTTPServerProtocolErrorHandler`, for a request that HTTP/1.1's parser refuses (a header block
/// over its 80 KiB limit, a bad token, a bad chunk size), but answering with a `metav1.Status` body and
/// counting and logging the refusal like every other. The connection closes after the answer: the
/// decoder stops at the first parser error.
final class MalformedRequestResponder: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let context: WebhookContext
    /// A response is being written: a refusal now would interleave with it, so the error only closes.
    private var hasUnterminatedResponse = false

    init(context: WebhookContext) {
        self.context = context
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        if !hasUnterminatedResponse {
            let refusal = HTTPErrorResponse.badRequest(Self.message(for: parserError))
            self.context.recordRefusal(refusal, path: nil)
            let body = refusal.body
            let headers = HTTPHeaders.json(length: body.count, closing: true)
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: refusal.status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
        context.fireErrorCaught(error)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where !head.isInformational:
            hasUnterminatedResponse = true
        case .end:
            hasUnterminatedResponse = false
        case .head, .body:
            break
        }
        context.write(data, promise: promise)
    }

    static func message(for error: HTTPParserError) -> String {
        switch error {
        case .headerOverflow: "request headers are larger than 80 KiB"
        default: "malformed HTTP/1.1 request: \(error.debugDescription)"
        }
    }
}

private extension HTTPResponseHead {
    var isInformational: Bool { status.code >= 100 && status.code < 200 && status.code != 101 }
}
