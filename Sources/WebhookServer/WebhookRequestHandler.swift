import AdmissionCore
import AdmissionModel
import NonRootPolicy
import Logging
import NIOCore
import NIOHTTP1

/// Answers AdmissionReviews on `POST /validate`, `/validate/enforce` and `/validate/dry-run`.
///
/// One instance per HTTP/1.1 connection, or per HTTP/2 stream behind `HTTP2FramePayloadToHTTP1ServerCodec`.
/// Ordinary reviews are decided on the event loop: that takes microseconds. Reviews larger than
/// `ServerLimits.smallRequestBytes` are decided on `HeavyWork`'s thread, and registry lookups run in a
/// task; either way the answer comes back to the loop. Everything a request holds (its body, its parse
/// tape) stays charged to the byte budget until its response is written.
final class WebhookRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case idle
        case receiving(Request)
        /// The body is complete and the review is being decided (off the loop, or waiting for lookups).
        case deciding
        /// A response was already sent (an error); the rest of the request is dropped.
        case discarding
    }

    private struct Request {
        var head: HTTPRequestHead
        var mode: EnforcementMode?
        /// The body as the decoder takes it: collected straight into an array, so a body is held once,
        /// not once in a ByteBuffer and again as the array the parser reads.
        var body: [UInt8]
        /// The Content-Length, when the client sent one.
        var declaredLength: Int?
        var started: ContinuousClock.Instant
    }

    private let shared: WebhookContext
    private let isHTTP2: Bool
    private var state = State.idle
    private var timeout: Scheduled<Void>?
    /// Bytes of the current request taken from the server-wide budget, and in which class.
    private var reserved = 0
    private var large = false

    init(context: WebhookContext, isHTTP2: Bool) {
        self.shared = context
        self.isHTTP2 = isHTTP2
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            receiveHead(head, context: context)
        case .body(let chunk):
            guard case .receiving(var request) = state else { return }
            let needed = request.body.count + chunk.readableBytes
            guard needed <= shared.limits.maximumBodyBytes else {
                fail(HTTPErrorResponse(status: .payloadTooLarge, message: "request body is larger than \(shared.limits.maximumBodyBytes) bytes"), head: request.head, context: context)
                return
            }
            // With a declared length the whole body was charged with the head. Without one (chunked) the
            // array grows by doubling: charge its capacity as it grows.
            var capacity = request.body.capacity
            if needed > capacity { capacity = min(max(needed, capacity * 2), shared.limits.maximumBodyBytes) }
            guard charge(upTo: request.declaredLength == nil ? capacity : needed, total: needed) else {
                fail(HTTPErrorResponse(status: .serviceUnavailable, message: "server is busy: too many request bytes in flight; retry"), head: request.head, context: context)
                return
            }
            state = .idle  // Let the buffer be uniquely referenced while appending.
            if capacity > request.body.capacity { request.body.reserveCapacity(capacity) }
            request.body.append(contentsOf: chunk.readableBytesView)
            state = .receiving(request)
        case .end:
            switch state {
            case .receiving(let request):
                timeout?.cancel()
                timeout = nil
                state = .deciding
                answer(request, context: context)
            case .discarding, .idle, .deciding:
                state = .idle
            }
        }
    }

    /// Raises this request's charge to `bytes`, moving it to the large class once `total` passes the
    /// small-request bound. False when the budget has no room.
    private func charge(upTo bytes: Int, total: Int) -> Bool {
        if !large, total > shared.limits.smallRequestBytes {
            guard shared.bodyBudget.promote(reserved) else { return false }
            large = true
        }
        guard bytes > reserved else { return true }
        guard shared.bodyBudget.reserve(bytes - reserved, large: large) else { return false }
        reserved = bytes
        return true
    }

    private func receiveHead(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = WebhookRequestHandler.path(of: head.uri)
        let mode: EnforcementMode?
        switch path {
        case "/validate": mode = nil
        case "/validate/enforce": mode = .enforce
        case "/validate/dry-run": mode = .dryRun
        default:
            fail(HTTPErrorResponse(status: .notFound, message: "no such path \(path); use POST /validate, /validate/enforce or /validate/dry-run"), head: head, context: context)
            return
        }
        guard head.method == .POST else {
            fail(HTTPErrorResponse(status: .methodNotAllowed, message: "method \(head.method.rawValue) is not allowed on \(path); use POST", extraHeaders: [("allow", "POST")]), head: head, context: context)
            return
        }
        let contentType = head.headers.first(name: "content-type") ?? ""
        guard WebhookRequestHandler.isJSON(contentType) else {
            fail(HTTPErrorResponse(status: .unsupportedMediaType, message: "content type \"\(contentType)\" is not supported; send application/json"), head: head, context: context)
            return
        }
        let length = head.headers.first(name: "content-length").flatMap { Int($0) }
        if let length, length > shared.limits.maximumBodyBytes {
            fail(HTTPErrorResponse(status: .payloadTooLarge, message: "request body of \(length) bytes is larger than \(shared.limits.maximumBodyBytes) bytes"), head: head, context: context)
            return
        }
        // A declared length is charged whole, before any byte is read: under a flood, the bodies admitted
        // can finish and the others are refused at once, instead of all of them holding part of the
        // budget. The array is sized once, and only the pages written become resident (large
        // allocations are fresh mappings: see `MemoryTuning`).
        if let length, !charge(upTo: length, total: length) {
            fail(HTTPErrorResponse(status: .serviceUnavailable, message: "server is busy: too many request bytes in flight; retry"), head: head, context: context)
            return
        }
        var body: [UInt8] = []
        body.reserveCapacity(min(length ?? 16_384, shared.limits.maximumBodyBytes))
        state = .receiving(Request(head: head, mode: mode, body: body, declaredLength: length, started: .now))
        // A client that sends its body too slowly is cut off. On HTTP/1.1 `RequestDeadlineHandler` does
        // this for the connection (and reaches us through `RequestDeadlineExceededEvent`): no timer per request.
        guard isHTTP2 else { return }
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        timeout = context.eventLoop.scheduleTask(in: .init(shared.limits.requestTimeout)) {
            handler.value.requestTimedOut(context: loopBound.value)
        }
    }

    private func requestTimedOut(context: ChannelHandlerContext) {
        guard case .receiving(let request) = state else { return }
        timeout = nil
        fail(HTTPErrorResponse(status: .requestTimeout, message: "request body not received within \(shared.limits.requestTimeout)"), head: request.head, context: context)
    }

    private func answer(_ request: Request, context: ChannelHandlerContext) {
        let pipeline = shared.pipeline
        let budget = RequestBudget(budget: shared.bodyBudget, large: large)
        let maximumBytes = shared.limits.maximumBodyBytes
        guard large else {
            proceed(pipeline.begin(bytes: request.body, mode: request.mode, maximumBytes: maximumBytes, budget: budget), request: request, context: context)
            return
        }
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        let (body, mode) = (request.body, request.mode)
        shared.heavyWork.run(on: context.eventLoop) {
            pipeline.begin(bytes: body, mode: mode, maximumBytes: maximumBytes, budget: budget)
        }.whenComplete { result in
            switch result {
            case .success(let stage):
                bound.value.handler.proceed(stage, request: request, context: bound.value.context)
            case .failure:
                // The pool is shutting down: the process is exiting.
                bound.value.handler.finishRequest(HTTPErrorResponse(status: .serviceUnavailable, message: "server is shutting down; retry"), request: request, context: bound.value.context)
            }
        }
    }

    private func proceed(_ stage: ReviewPipeline.Stage, request: Request, context: ChannelHandlerContext) {
        switch stage {
        case .decided(let answer):
            respond(answer, request: request, context: context)
        case .refused(let error):
            finishRequest(error, request: request, context: context)
        case .lookups(let prepared):
            // Registry lookups run off the event loop, under the apiserver's deadline; the answer is
            // written back on the loop. HTTP/1.1 pipelining holds later requests until then.
            let deadline = WebhookRequestHandler.lookupDeadline(uri: request.head.uri, started: request.started, cap: shared.registryTimeout)
            let images = shared.images
            let pipeline = shared.pipeline
            let eventLoop = context.eventLoop
            let bound = NIOLoopBound((handler: self, context: context), eventLoop: eventLoop)
            Task {
                let found = await images.resolve(prepared.imagesNeeded, deadline: deadline)
                let answer = pipeline.finish(prepared, mode: request.mode, images: found)
                eventLoop.execute {
                    bound.value.handler.respond(answer, request: request, context: bound.value.context)
                }
            }
        }
    }

    /// Answers a request whose body was read but could not be decided (bad JSON, no budget for its tape).
    private func finishRequest(_ error: HTTPErrorResponse, request: Request, context: ChannelHandlerContext) {
        state = .idle
        fail(error, head: request.head, context: context, keepAlive: error.status == .badRequest)
    }

    private func respond(_ answer: ReviewPipeline.Answer, request: Request, context: ChannelHandlerContext) {
        let decision = answer.decision
        // Count, record and log before answering: once a client has its answer, it is observable.
        let elapsed = ContinuousClock.now - request.started
        shared.metrics?.recordReview(
            decision: decision.outcome.metricLabel, mode: decision.mode.rawValue,
            kind: decision.kind, operation: decision.operation, duration: elapsed)
        shared.recorder?.record(body: request.body, responseJSON: answer.responseJSON, uid: decision.response.uid)
        logDecision(decision, elapsed: elapsed, path: request.head.uri)
        state = .idle
        // While draining (not ready), HTTP/1.1 clients are told to go: the apiserver then opens its next
        // connection to another replica instead of sending onto one that is about to close.
        write(status: .ok, body: answer.body, head: request.head, extraHeaders: [], keepAlive: request.head.isKeepAlive && shared.readiness.isReady, context: context)
        releaseBudget()
    }

    /// When registry lookups must be over: the apiserver's `?timeout=` less a margin for the answer
    /// to travel back (half of it, at most 500ms), and never later than `--registry-timeout`.
    static func lookupDeadline(uri: String, started: ContinuousClock.Instant, cap: Duration) -> ContinuousClock.Instant {
        var budget = cap
        if let query = uri.firstIndex(of: "?") {
            for pair in uri[uri.index(after: query)...].split(separator: "&") where pair.hasPrefix("timeout=") {
                if let timeout = GoDuration.parse(String(pair.dropFirst(8))), timeout > .zero {
                    budget = min(budget, timeout - min(timeout / 2, .milliseconds(500)))
                }
            }
        }
        return started + budget
    }

    private func logDecision(_ decision: Decision, elapsed: Duration, path: String) {
        var metadata: Logger.Metadata = [
            "uid": "\(decision.response.uid)",
            "kind": "\(decision.kind)",
            "object": "\(decision.namespace.isEmpty ? decision.name : "\(decision.namespace)/\(decision.name)")",
            "operation": "\(decision.operation)",
            "user": "\(decision.username)",
            "decision": "\(decision.outcome.rawValue)",
            "mode": "\(decision.mode.rawValue)",
            "latencyMicroseconds": "\(TimeAmount(elapsed).nanoseconds / 1000)",
            "protocol": "\(isHTTP2 ? "h2" : "http/1.1")",
        ]
        if !decision.sentences.isEmpty { metadata["reasons"] = .array(decision.sentences.map { .string($0) }) }
        if let skip = decision.skipReason { metadata["skipped"] = "\(skip)" }
        if !decision.unresolved.isEmpty { metadata["unresolvedImages"] = .array(decision.unresolved.map { .string($0.image) }) }
        shared.logger.info("admission decision", metadata: metadata)
    }

    /// Sends an error and, unless `keepAlive`, closes: the rest of the request is not worth reading.
    private func fail(_ error: HTTPErrorResponse, head: HTTPRequestHead, context: ChannelHandlerContext, keepAlive: Bool = false) {
        timeout?.cancel()
        timeout = nil
        releaseBudget()
        if case .receiving = state { state = .discarding } else if !keepAlive { state = .discarding }
        shared.recordRefusal(error, path: head.uri)
        write(status: error.status, body: error.body, head: head, extraHeaders: error.extraHeaders, keepAlive: keepAlive && head.isKeepAlive, context: context)
    }

    private func write(status: HTTPResponseStatus, body: [UInt8], head: HTTPRequestHead, extraHeaders: [(String, String)], keepAlive: Bool, context: ChannelHandlerContext) {
        var headers = HTTPHeaders.json(length: body.count, closing: !isHTTP2 && !keepAlive)
        for (name, value) in extraHeaders { headers.add(name: name, value: value) }
        var buffer = context.channel.allocator.buffer(capacity: body.count)
        buffer.writeBytes(body)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: isHTTP2 ? .http2 : head.version, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        context.triggerUserOutboundEvent(RequestCompletedEvent(), promise: nil)
        if !keepAlive {
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            written.whenComplete { _ in loopBound.value.close(promise: nil) }
        }
    }

    /// HTTP/1.1's `RequestDeadlineHandler` says the request is out of time: 408 if the head is here, else close.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is RequestDeadlineExceededEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        if case .receiving = state {
            requestTimedOut(context: context)
        } else {
            context.close(promise: nil)
        }
    }

    private func releaseBudget() {
        shared.bodyBudget.release(reserved, large: large)
        reserved = 0
        large = false
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        releaseUnlessDeciding()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timeout?.cancel()
        timeout = nil
        releaseUnlessDeciding()
        context.fireChannelInactive()
    }

    /// A review being decided still holds its body: the charge goes when its answer is written (or
    /// fails to be, on a closed connection), so closing early cannot free budget while memory is held.
    private func releaseUnlessDeciding() {
        if case .deciding = state { return }
        releaseBudget()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        shared.logger.debug("connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    // MARK: - Parsing helpers

    /// The path of a request URI, without its query.
    static func path(of uri: String) -> String {
        uri.firstIndex(of: "?").map { String(uri[..<$0]) } ?? uri
    }

    /// `application/json`, with or without parameters such as `charset=utf-8`, in any case, with spaces
    /// or tabs around the media type. Compared byte by byte: it runs on every request.
    static func isJSON(_ contentType: String) -> Bool {
        let expected: StaticString = "application/json"
        var utf8 = contentType.utf8[...]
        if let semicolon = utf8.firstIndex(of: UInt8(ascii: ";")) { utf8 = utf8[..<semicolon] }
        let blank = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        while let first = utf8.first, blank(first) { utf8 = utf8.dropFirst() }
        while let last = utf8.last, blank(last) { utf8 = utf8.dropLast() }
        guard utf8.count == expected.utf8CodeUnitCount else { return false }
        return expected.withUTF8Buffer { wanted in
            zip(utf8, wanted).allSatisfy { byte, want in
                // ASCII lower-casing; `wanted` is lower case already.
                (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte) == want
            }
        }
    }
}

/// Sent outbound when a response has been written, so per-connection guards can reset.
struct RequestCompletedEvent: Sendable {}

extension Decision.Outcome {
    /// The `decision` label of the requests metric.
    var metricLabel: String {
        switch self {
        case .allowed: "allowed"
        case .denied: "denied"
        case .wouldDeny: "would_deny"
        }
    }
}
