import NIOCore
import NIOHTTP1

/// Writes one JSON answer from any of the review handlers: status, `content-type`, `content-length`,
/// `connection: close` when the server closes after it (HTTP/1.1), then tells the connection guards the
/// request is over (`RequestCompletedEvent`) and closes if asked.
///
/// A response to HEAD has the same head and no body (RFC 9110 §9.3.2), over HTTP/1.1 and HTTP/2 alike:
/// decided here, where the request is known, rather than by a handler that inspects every part of every
/// request and response. (HTTP/2 resets a stream whose HEAD response carries DATA.)
struct ResponseWriter {
    let isHTTP2: Bool

    func write(
        status: HTTPResponseStatus, body: [UInt8], head: HTTPRequestHead, extraHeaders: [(String, String)] = [], keepAlive: Bool,
        context: ChannelHandlerContext
    ) {
        var headers = HTTPHeaders.json(length: body.count, closing: !isHTTP2 && !keepAlive)
        for (name, value) in extraHeaders { headers.add(name: name, value: value) }
        let version = isHTTP2 ? HTTPVersion.http2 : head.version
        context.write(NIOAny(HTTPServerResponsePart.head(HTTPResponseHead(version: version, status: status, headers: headers))), promise: nil)
        if head.method != .HEAD {
            var buffer = context.channel.allocator.buffer(capacity: body.count)
            buffer.writeBytes(body)
            context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(buffer))), promise: nil)
        }
        // A promise only when closing after the write: kept-alive answers (nearly all) need none.
        let written = keepAlive ? nil : context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)), promise: written)
        context.triggerUserOutboundEvent(RequestCompletedEvent(), promise: nil)
        if let written {
            let channel = context.channel
            written.futureResult.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    /// A refusal before any decision: counted and logged, then written as a `metav1.Status`.
    func refuse(_ error: HTTPErrorResponse, head: HTTPRequestHead, keepAlive: Bool, shared: WebhookContext, context: ChannelHandlerContext) {
        shared.recordRefusal(error, path: head.uri)
        write(status: error.status, body: error.body, head: head, extraHeaders: error.extraHeaders, keepAlive: keepAlive && head.isKeepAlive, context: context)
    }
}

/// Sent outbound when a response has been written, so per-connection guards can reset.
struct RequestCompletedEvent: Sendable {}
