import AdmissionCore
import AdmissionModel
import ImageRegistry
import ImageResolution
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
@testable import WebhookServer

// The review handlers (route, collect, respond) on an EmbeddedChannel: exact answers, budget held and
// given back, nothing left behind.

private let review = #"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-1","kind":{"group":"","version":"v1","kind":"Pod"},"namespace":"shop","operation":"CREATE","object":{"metadata":{"name":"web","namespace":"shop","uid":"p-1"},"spec":{"securityContext":{"runAsNonRoot":true},"containers":[{"name":"app","image":"nginx:1.27"}]}}}}"#
private let denied = #"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"u-1","allowed":false,"status":{"status":"Failure","message":"container has runAsNonRoot and image will run as root (pod: \"web_shop(p-1)\", container: app)","reason":"Forbidden","code":403},"warnings":["container \"app\": image nginx:1.27 has no USER, so it runs as root; set a numeric non-root USER (e.g. 65532) in its Dockerfile or set securityContext.runAsUser"]}}"#

/// A server context with a one-image catalog and the given budget.
private func makeContext(budget: Int = 1 << 20, maximumBody: Int = 512 << 10) throws -> WebhookContext {
    let catalog = try ImageCatalog(entries: [("nginx:1.27", "")])
    let limits = ServerLimits(maximumBodyBytes: maximumBody, maximumBufferedBytes: budget)
    return WebhookContext(
        decider: AdmissionDecider(configuration: .init()), images: ImageLookup(catalog: catalog), limits: limits, metrics: nil,
        logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), recorder: nil, readiness: readyReadiness(),
        heavyWork: HeavyWork(), bodyBudget: ByteBudget(limit: budget))
}

private func readyReadiness() -> Readiness {
    let readiness = Readiness()
    readiness.set(true)
    return readiness
}

func channel(_ context: WebhookContext) throws -> EmbeddedChannel {
    let channel = EmbeddedChannel()
    try channel.pipeline.syncOperations.addReviewHandlers(context: context, isHTTP2: false)
    return channel
}

private func head(_ uri: String = "/validate", method: HTTPMethod = .POST, contentType: String? = "application/json", length: Int? = nil) -> HTTPRequestHead {
    var headers = HTTPHeaders()
    if let contentType { headers.add(name: "content-type", value: contentType) }
    if let length { headers.add(name: "content-length", value: String(length)) }
    return HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: headers)
}

/// The response written so far: status, headers, body text, and whether the request ended.
private struct Answer {
    var status: HTTPResponseStatus
    var headers: HTTPHeaders
    var body: String
}

private func readAnswer(_ channel: EmbeddedChannel) throws -> Answer? {
    guard case .head(let head)? = try channel.readOutbound(as: HTTPServerResponsePart.self) else { return nil }
    var body = ""
    while let part = try channel.readOutbound(as: HTTPServerResponsePart.self) {
        switch part {
        case .body(.byteBuffer(let buffer)): body += String(buffer: buffer)
        case .end: return Answer(status: head.status, headers: head.headers, body: body)
        default: break
        }
    }
    return nil
}

private func statusBody(_ code: Int, _ reason: String, _ message: String) -> String {
    #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"\#(message)","reason":"\#(reason)","code":\#(code)}"#
}

struct ReviewHandlerTests {
    @Test func aReviewIsDecidedAndItsBudgetGivenBack() throws {
        let context = try makeContext()
        let channel = try channel(context)
        try channel.writeInbound(HTTPServerRequestPart.head(head(length: review.utf8.count)))
        #expect(context.bodyBudget.inUse == review.utf8.count)  // the declared length, charged with the head
        try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: review)))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        let answer = try #require(try readAnswer(channel))
        #expect(answer.status == .ok)
        #expect(answer.headers["content-type"] == ["application/json"])
        #expect(answer.headers["content-length"] == [String(denied.utf8.count)])
        #expect(answer.headers["connection"] == [])
        #expect(answer.body == denied)
        #expect(context.bodyBudget.inUse == 0)
        _ = try channel.finish()
    }

    @Test func aChunkedBodyIsChargedAsItGrows() throws {
        let context = try makeContext()
        let channel = try channel(context)
        try channel.writeInbound(HTTPServerRequestPart.head(head()))
        #expect(context.bodyBudget.inUse == 0)
        try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: String(review.prefix(100)))))
        // The array's first capacity (16 KiB, as the allocator rounds it), not the bytes received.
        #expect(context.bodyBudget.inUse >= 16_384 && context.bodyBudget.inUse < 16_384 + 64)
        try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: String(review.dropFirst(100)))))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        #expect(try readAnswer(channel)?.body == denied)
        #expect(context.bodyBudget.inUse == 0)
        _ = try channel.finish()
    }

    @Test(arguments: [
        ("/other", HTTPMethod.POST, "application/json", 404, "NotFound", "no such path /other; use POST /validate, /validate/enforce or /validate/dry-run"),
        ("/validate", .GET, "application/json", 405, "MethodNotAllowed", "method GET is not allowed on /validate; use POST"),
        ("/validate/dry-run?timeout=5s", .POST, "text/plain", 415, "UnsupportedMediaType", #"content type \"text/plain\" is not supported; send application/json"#),
    ])
    func refusalsFromTheHead(uri: String, method: HTTPMethod, contentType: String, code: Int, reason: String, message: String) throws {
        let context = try makeContext()
        let channel = try channel(context)
        try channel.writeInbound(HTTPServerRequestPart.head(head(uri, method: method, contentType: contentType, length: 2)))
        let answer = try #require(try readAnswer(channel))
        #expect(Int(answer.status.code) == code)
        #expect(answer.body == statusBody(code, reason, message))
        #expect(answer.headers["connection"] == ["close"])
        if code == 405 { #expect(answer.headers["allow"] == ["POST"]) }
        // The rest of the refused request is dropped, and nothing was charged.
        try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: "{}")))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        #expect(try readAnswer(channel) == nil)
        #expect(context.bodyBudget.inUse == 0)
        _ = try? channel.finish()
    }

    /// A malformed request pipelined behind one whose answer is still pending is refused after that answer,
    /// never in the middle of it or before it: `HTTPServerPipelineHandler` holds the parser error until the
    /// response in flight has ended, which is why `MalformedRequestResponder` need not watch responses.
    @Test func aMalformedPipelinedRequestIsRefusedAfterTheAnswerInFlight() throws {
        let context = try makeContext()
        let held = HeldAnswerer()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.configureDeadlineBoundHTTPServerPipeline(
            deadline: RequestDeadlineHandler(timeout: .seconds(2), activity: ConnectionActivity()), errorHandling: false)
        try channel.pipeline.syncOperations.addHandler(MalformedRequestResponder(context: context))
        try channel.pipeline.syncOperations.addHandler(held)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 443)).wait()
        try channel.writeInbound(ByteBuffer(string: "POST /validate HTTP/1.1\r\nHost: x\r\ncontent-length: 2\r\n\r\n{}" + "GET /x HTTP/1.1\r\nBad Header\r\n\r\n"))
        channel.embeddedEventLoop.run()
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        held.answer()
        channel.embeddedEventLoop.run()
        var written = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { written += String(buffer: buffer) }
        let refusal = statusBody(400, "BadRequest", "malformed HTTP/1.1 request: invalid character in header")
        #expect(written == "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
            + "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: \(refusal.utf8.count)\r\nconnection: close\r\n\r\n\(refusal)")
    }

    /// HEAD gets GET's head and no body (RFC 9110 §9.3.2): the whole HTTP/1.1 pipeline, byte for byte.
    @Test func headIsAnsweredWithoutABody() throws {
        let context = try makeContext()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.configureDeadlineBoundHTTPServerPipeline(
            deadline: RequestDeadlineHandler(timeout: .seconds(2), activity: ConnectionActivity()), errorHandling: false)
        try channel.pipeline.syncOperations.addReviewHandlers(context: context, isHTTP2: false)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 443)).wait()
        try channel.writeInbound(ByteBuffer(string: "HEAD /validate HTTP/1.1\r\nHost: x\r\n\r\n"))
        channel.embeddedEventLoop.run()
        var written = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { written += String(buffer: buffer) }
        let body = statusBody(405, "MethodNotAllowed", "method HEAD is not allowed on /validate; use POST")
        #expect(written == "HTTP/1.1 405 Method Not Allowed\r\ncontent-type: application/json\r\ncontent-length: \(body.utf8.count)\r\nconnection: close\r\nallow: POST\r\n\r\n")
        #expect(!channel.isActive)
    }

    @Test func aDeclaredLengthPastTheLimitIs413AndOneWithoutRoomIs503() throws {
        let context = try makeContext(budget: 100_000, maximumBody: 90_000)
        let channel = try channel(context)
        try channel.writeInbound(HTTPServerRequestPart.head(head(length: 90_001)))
        let tooLarge = try #require(try readAnswer(channel))
        #expect(tooLarge.body == statusBody(413, "RequestEntityTooLarge", "request body of 90001 bytes is larger than 90000 bytes"))
        _ = try? channel.finish()
        // 80,000 bytes is a large request, which may use three quarters of the budget: 75,000.
        let second = try WebhookServerTests.channel(context)
        try second.writeInbound(HTTPServerRequestPart.head(head(length: 80_000)))
        let busy = try #require(try readAnswer(second))
        #expect(busy.status == HTTPResponseStatus.serviceUnavailable)
        #expect(busy.body == statusBody(503, "ServiceUnavailable", "server is busy: too many request bytes in flight; retry"))
        #expect(context.bodyBudget.inUse == 0)
        _ = try? second.finish()
    }

    @Test func aBodyGrowingPastTheLimitIs413AndGivesItsBytesBack() throws {
        let context = try makeContext(maximumBody: 1000)
        let channel = try channel(context)
        try channel.writeInbound(HTTPServerRequestPart.head(head()))
        try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(repeating: UInt8(ascii: " "), count: 600)))
        #expect(context.bodyBudget.inUse > 0)
        try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(repeating: UInt8(ascii: " "), count: 600)))
        let answer = try #require(try readAnswer(channel))
        #expect(answer.body == statusBody(413, "RequestEntityTooLarge", "request body is larger than 1000 bytes"))
        #expect(context.bodyBudget.inUse == 0)
        _ = try? channel.finish()
    }

    @Test func badJSONIs400AndKeepsTheConnection() throws {
        let context = try makeContext()
        let channel = try channel(context)
        try channel.writeInbound(HTTPServerRequestPart.head(head(length: 5)))
        try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: "{\"a\":")))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        let answer = try #require(try readAnswer(channel))
        #expect(answer.status == .badRequest)
        #expect(answer.body == statusBody(400, "BadRequest", "invalid JSON at line 1, column 6 (byte 5): unexpected end of text, expected a value"))
        #expect(answer.headers["connection"] == [])
        #expect(context.bodyBudget.inUse == 0)
        // The next request on the same connection is answered.
        try channel.writeInbound(HTTPServerRequestPart.head(head(length: review.utf8.count)))
        try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: review)))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        #expect(try readAnswer(channel)?.body == denied)
        _ = try channel.finish()
    }

    @Test func aConnectionClosedMidBodyGivesItsBytesBack() throws {
        let context = try makeContext()
        let channel = try channel(context)
        try channel.writeInbound(HTTPServerRequestPart.head(head(length: 10_000)))
        try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(repeating: UInt8(ascii: " "), count: 5_000)))
        #expect(context.bodyBudget.inUse == 10_000)
        _ = try? channel.finish()
        #expect(context.bodyBudget.inUse == 0)
    }

    @Test func theDeadlineEventIs408WhileTheBodyArrives() throws {
        let context = try makeContext()
        let channel = try channel(context)
        try channel.writeInbound(HTTPServerRequestPart.head(head(length: 100)))
        channel.pipeline.fireUserInboundEventTriggered(RequestDeadlineExceededEvent())
        let answer = try #require(try readAnswer(channel))
        #expect(answer.body == statusBody(408, "Timeout", "request body not received within 10.0 seconds"))
        #expect(context.bodyBudget.inUse == 0)
        _ = try? channel.finish()
    }
}

/// Holds the answer to the first complete request until `answer()`, as a registry lookup does.
private final class HeldAnswerer: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    private var context: ChannelHandlerContext?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .end = unwrapInboundIn(data) { self.context = context }
    }

    func answer() {
        guard let context else { return }
        var headers = HTTPHeaders()
        headers.add(name: "content-length", value: "2")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "ok")))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        self.context = nil
    }
}
