import NIOCore
import NIOHTTP1

/// Sent outbound by `HTTPDecoderBufferProbe` when the HTTP decoder starts or stops holding bytes it could not
/// yet turn into a request head: the start of a request that is not complete.
struct HTTPDecoderBufferEvent: Sendable, Equatable {
    var holdsBytes: Bool
}

/// NIO's HTTP/1.1 request decoder, reporting to `RequestDeadlineHandler` whether it holds part of a request.
///
/// A client may send a complete request and the start of the next one in one packet. The second part
/// stays inside the decoder: no read follows to start a deadline, so without this only the idle timeout
/// would bound it. The decoder keeps every byte from a request's URL on until its head is complete; only
/// a method token (at most 7 bytes) is held outside the buffer, and such a connection counts as idle, so
/// `ConnectionCounter` may evict it.
struct HTTPDecoderBufferProbe: ByteToMessageDecoder {
    typealias InboundOut = HTTPServerRequestPart

    private let decoder: HTTPRequestDecoder
    private var holdsBytes = false

    init(_ decoder: HTTPRequestDecoder = HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)) {
        self.decoder = decoder
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let state = try decoder.decode(context: context, buffer: &buffer)
        report(buffer.readableBytes > 0, context: context)
        return state
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try decoder.decodeLast(context: context, buffer: &buffer, seenEOF: seenEOF)
    }

    mutating func decoderAdded(context: ChannelHandlerContext) {
        decoder.decoderAdded(context: context)
    }

    mutating func decoderRemoved(context: ChannelHandlerContext) {
        decoder.decoderRemoved(context: context)
    }

    mutating func shouldReclaimBytes(buffer: ByteBuffer) -> Bool {
        decoder.shouldReclaimBytes(buffer: buffer)
    }

    private mutating func report(_ holds: Bool, context: ChannelHandlerContext) {
        guard holds != holdsBytes else { return }
        holdsBytes = holds
        context.triggerUserOutboundEvent(HTTPDecoderBufferEvent(holdsBytes: holds), promise: nil)
    }
}

extension ChannelPipeline.SynchronousOperations {
    /// What `configureHTTPServerPipeline` adds, with `RequestDeadlineHandler` in front and the decoder
    /// wrapped in `HTTPDecoderBufferProbe`, so that every request, pipelined or not, has a deadline.
    /// NIO's set-up tells the encoder each request's method so that it drops HEAD responses' bodies; here the
    /// handlers behind write none (`ResponseWriter`, `OperationsListener`).
    func configureDeadlineBoundHTTPServerPipeline(deadline: RequestDeadlineHandler, errorHandling: Bool) throws {
        try addHandler(deadline)
        try addHandler(HTTPResponseEncoder())
        try addHandler(ByteToMessageHandler(HTTPDecoderBufferProbe()))
        try addHandler(HTTPServerPipelineHandler())
        // No HeadResponseBodyDropper: `ResponseWriter` writes no body for HEAD, on HTTP/2 as well, and a
        // handler that unwraps every part of every request and response costs 2k instructions a review.
        // No NIOHTTPResponseHeadersValidator (configureHTTPServerPipeline's default): every header this server
        // writes is a constant name with a constant or numeric value, and the check costs 3k instructions a response.
        if errorHandling { try addHandler(HTTPServerProtocolErrorHandler()) }
    }
}
