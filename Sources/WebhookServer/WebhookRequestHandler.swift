import AdmissionCore
import AdmissionModel
import NonRootPolicy
import Logging
import NIOCore
import NIOHTTP1

/// Answers AdmissionReviews on `POST /validate`, `/validate/enforce` and `/validate/dry-run`.
///
/// One instance per HTTP/1.1 connection, or per HTTP/2 stream behind `HTTP2FramePayloadToHTTP1ServerCodec`.
/// The decision runs on the event loop: it is pure and takes microseconds. Registry lookups, when
/// an image is not in the catalog, run in a task and the answer comes back to the loop.
final class WebhookRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case idle
        case receiving(Request)
        /// A response was already sent (an error); the rest of the request is dropped.
        case discarding
    }

    private struct Request {
        var head: HTTPRequestHead
        var mode: EnforcementMode?
        /// The body as the decoder takes it: collected straight into an array, so a body is held once,
        /// not once in a ByteBuffer and again as the array the parser reads.
        var body: [UInt8]
        var started: ContinuousClock.Instant
    }

    private let shared: WebhookContext
    private let isHTTP2: Bool
    private var state = State.idle
    private var timeout: Scheduled<Void>?
    /// Bytes of the current body taken from the server-wide budget.
    private var reserved = 0

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
            guard request.body.count + chunk.readableBytes <= shared.limits.maximumBodyBytes else {
                fail(HTTPErrorResponse(status: .payloadTooLarge, message: "request body is larger than \(shared.limits.maximumBodyBytes) bytes"), head: request.head, context: context)
                return
            }
            guard shared.bodyBudget.reserve(chunk.readableBytes) else {
                fail(HTTPErrorResponse(status: .serviceUnavailable, message: "server is busy: too many request bytes in flight; retry"), head: request.head, context: context)
                return
            }
            reserved += chunk.readableBytes
            state = .idle  // Let the buffer be uniquely referenced while appending.
            request.body.append(contentsOf: chunk.readableBytesView)
            state = .receiving(request)
        case .end:
            switch state {
            case .receiving(let request):
                timeout?.cancel()
                timeout = nil
                state = .idle
                answer(request, context: context)
                releaseBudget()
            case .discarding, .idle:
                state = .idle
            }
        }
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
        let capacity = min(length ?? 16_384, shared.limits.maximumBodyBytes)
        var body: [UInt8] = []
        body.reserveCapacity(capacity)
        state = .receiving(Request(head: head, mode: mode, body: body, started: .now))
        // A client that sends its body too slowly is cut off.
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        timeout = context.eventLoop.scheduleTask(in: TimeAmount(shared.limits.requestTimeout)) {
            handler.value.requestTimedOut(context: loopBound.value)
        }
    }

    private func requestTimedOut(context: ChannelHandlerContext) {
        guard case .receiving(let request) = state else { return }
        timeout = nil
        fail(HTTPErrorResponse(status: .requestTimeout, message: "request body not received within \(shared.limits.requestTimeout)"), head: request.head, context: context)
    }

    private func answer(_ request: Request, context: ChannelHandlerContext) {
        let bytes = request.body
        let prepared: PreparedReview
        do {
            prepared = try shared.decider.prepare(bytes: bytes, limits: JSONLimits(maximumBytes: shared.limits.maximumBodyBytes))
        } catch {
            fail(.badRequest("\(error)"), head: request.head, context: context, keepAlive: true)
            return
        }
        // Catalog answers (and reviews that need no image) are decided here, in microseconds.
        if let found = shared.images.resolveOffline(prepared.imagesNeeded) {
            respond(prepared, request: request, bytes: bytes, images: found, context: context)
            return
        }
        // Registry lookups run off the event loop, under the apiserver's deadline; the answer is
        // written back on the loop. HTTP/1.1 pipelining holds later requests until then.
        let deadline = WebhookRequestHandler.lookupDeadline(uri: request.head.uri, started: request.started, cap: shared.registryTimeout)
        let images = shared.images
        let needed = prepared.imagesNeeded
        let eventLoop = context.eventLoop
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: eventLoop)
        Task {
            let found = await images.resolve(needed, deadline: deadline)
            eventLoop.execute {
                bound.value.handler.respond(prepared, request: request, bytes: bytes, images: found, context: bound.value.context)
            }
        }
    }

    private func respond(_ prepared: PreparedReview, request: Request, bytes: [UInt8], images: [String: ImageUserLookup], context: ChannelHandlerContext) {
        let decision = shared.decider.decide(prepared, mode: request.mode) { images[$0] ?? .unresolved(reason: "not looked up") }
        // Encode the response once: the record takes it as is, the answer wraps it.
        let responseJSON = decision.responseJSON
        let body = AdmissionResponse.review(apiVersion: decision.apiVersion, responseJSON: responseJSON)
        // Count, record and log before answering: once a client has its answer, it is observable.
        let elapsed = ContinuousClock.now - request.started
        shared.metrics?.recordReview(
            decision: decision.outcome.metricLabel, mode: decision.mode.rawValue,
            kind: decision.kind, operation: decision.operation, duration: elapsed)
        shared.recorder?.record(body: bytes, responseJSON: responseJSON, uid: decision.response.uid)
        logDecision(decision, elapsed: elapsed, path: request.head.uri)
        // While draining (not ready), HTTP/1.1 clients are told to go: the apiserver then opens its next
        // connection to another replica instead of sending onto one that is about to close.
        write(status: .ok, body: body, head: request.head, extraHeaders: [], keepAlive: request.head.isKeepAlive && shared.readiness.isReady, context: context)
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
        shared.bodyBudget.release(reserved)
        reserved = 0
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        releaseBudget()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timeout?.cancel()
        timeout = nil
        releaseBudget()
        context.fireChannelInactive()
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

    /// `application/json`, with or without parameters such as `charset=utf-8`.
    static func isJSON(_ contentType: String) -> Bool {
        let mediaType = contentType.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let trimmed = mediaType.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed()
        return String(trimmed).lowercased() == "application/json"
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

extension TimeAmount {
    init(_ duration: Duration) {
        self = .nanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }
}
