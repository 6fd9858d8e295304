import AdmissionCore
import ImageRegistry
import KubernetesAPI
import Logging
import NIOCore
import NIOHTTP1

/// Decides a collected review and answers it: on the event loop for ordinary reviews (microseconds), on
/// `HeavyWork`'s thread for large ones, after registry lookups in a task when images need them; the answer
/// is always written back on the loop. Counts, records and logs each decision before answering, and gives
/// the request's bytes back to the budget once the answer is written (or its connection is gone).
final class ReviewResponder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = CollectedReview
    typealias OutboundOut = HTTPServerResponsePart

    private let shared: WebhookContext
    private let writer: ResponseWriter
    /// The review being decided; its hold is released when it is answered, not when the connection closes,
    /// so closing early cannot free budget while its memory is still held.
    private var deciding: CollectedReview?

    init(context: WebhookContext, isHTTP2: Bool) {
        self.shared = context
        self.writer = ResponseWriter(isHTTP2: isHTTP2)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let request = unwrapInboundIn(data)
        deciding = request
        let pipeline = shared.pipeline
        let budget = request.hold.parseBudget
        let maximumBytes = shared.limits.maximumBodyBytes
        guard request.hold.large else {
            proceed(pipeline.begin(bytes: request.body, mode: request.mode, maximumBytes: maximumBytes, budget: budget), request, context: context)
            return
        }
        let bound = NIOLoopBound((handler: self, context: context, request: request), eventLoop: context.eventLoop)
        let (body, mode) = (request.body, request.mode)
        shared.heavyWork.run(on: context.eventLoop) {
            pipeline.begin(bytes: body, mode: mode, maximumBytes: maximumBytes, budget: budget)
        }.whenComplete { result in
            let (handler, context, request) = bound.value
            switch result {
            case .success(let stage):
                handler.proceed(stage, request, context: context)
            case .failure:
                // The pool is shutting down: the process is exiting.
                handler.refuse(HTTPErrorResponse(status: .serviceUnavailable, message: "server is shutting down; retry"), request, context: context)
            }
        }
    }

    private func proceed(_ stage: ReviewPipeline.Stage, _ request: CollectedReview, context: ChannelHandlerContext) {
        switch stage {
        case .decided(let answer):
            respond(answer, request, context: context)
        case .refused(let error):
            // Bad JSON leaves the connection usable; a refusal for lack of budget closes it.
            refuse(error, request, context: context, keepAlive: error.status == .badRequest)
        case .lookups(let prepared):
            // Registry lookups run off the event loop, under the apiserver's deadline; the answer is
            // written back on the loop. HTTP/1.1 pipelining holds later requests until then.
            let pipeline = shared.pipeline
            let deadline = ReviewResponder.lookupDeadline(uri: request.head.uri, started: request.started, cap: pipeline.registryTimeout)
            let eventLoop = context.eventLoop
            let bound = NIOLoopBound((handler: self, context: context, request: request), eventLoop: eventLoop)
            let mode = request.mode
            let pullSecrets = shared.pullSecrets
            let logger = shared.logger
            Task {
                var keyring: DockerKeyring?
                if let pullSecrets, let reference = prepared.pullSecretReference {
                    keyring = await ReviewResponder.keyring(for: reference, from: pullSecrets, uid: prepared.review.request.uid, logger: logger)
                }
                let answer = await pipeline.finish(prepared, mode: mode, pullSecrets: keyring, deadline: deadline)
                eventLoop.execute {
                    let (handler, context, request) = bound.value
                    handler.respond(answer, request, context: context)
                }
            }
        }
    }

    private func respond(_ answer: ReviewPipeline.Answer, _ request: CollectedReview, context: ChannelHandlerContext) {
        let decision = answer.decision
        // Count, record and log before answering: once a client has its answer, it is observable.
        let elapsed = ContinuousClock.now - request.started
        shared.metrics?.recordReview(
            decision: decision.outcome.metricLabel, mode: decision.mode.rawValue,
            kind: decision.kind, operation: decision.operation, duration: elapsed)
        shared.recorder?.record(body: request.body, responseJSON: answer.responseJSON, uid: decision.response.uid)
        shared.decisionLog.log(decision, elapsed: elapsed, isHTTP2: writer.isHTTP2)
        // While draining (not ready), HTTP/1.1 clients are told to go: the apiserver then opens its next
        // connection to another replica instead of sending onto one that is about to close.
        writer.write(status: .ok, body: answer.body, head: request.head, keepAlive: request.head.isKeepAlive && shared.readiness.isReady, context: context)
        finish(request)
    }

    private func refuse(_ error: HTTPErrorResponse, _ request: CollectedReview, context: ChannelHandlerContext, keepAlive: Bool = false) {
        writer.refuse(error, head: request.head, keepAlive: keepAlive, shared: shared, context: context)
        finish(request)
    }

    private func finish(_ request: CollectedReview) {
        request.hold.release()
        deciding = nil
    }

    /// The review's pull secrets as one keyring, as the kubelet merges a pod's secrets. A secret that cannot
    /// be read, is not a docker config or does not parse is left out with a warning naming it (never its data).
    static func keyring(for reference: PullSecretReference, from source: PullSecrets, uid: String, logger: Logger) async -> DockerKeyring? {
        let lookup = reference.isTemplate
            ? await source.forTemplate(namespace: reference.namespace, imagePullSecrets: reference.imagePullSecrets, serviceAccountName: reference.serviceAccountName)
            : await source.forPod(namespace: reference.namespace, imagePullSecrets: reference.imagePullSecrets)
        for skipped in lookup.skipped {
            logger.warning("pull secret not used", metadata: ["uid": "\(uid)", "namespace": "\(reference.namespace)", "reason": "\(skipped)"])
        }
        if let error = lookup.serviceAccountError {
            logger.warning("service account not read", metadata: ["uid": "\(uid)", "namespace": "\(reference.namespace)", "reason": "\(error)"])
        }
        guard !lookup.secrets.isEmpty else { return nil }
        var keyring = DockerKeyring()
        for secret in lookup.secrets {
            let source = "secret \(reference.namespace)/\(secret.name)"
            do {
                keyring.add(contentsOf: try DockerKeyring.parse(secret.config, format: secret.format == .dockercfg ? .dockercfg : .dockerConfigJSON, source: source))
            } catch {
                logger.warning("pull secret not used", metadata: ["uid": "\(uid)", "namespace": "\(reference.namespace)", "reason": "\(error)"])
            }
        }
        return keyring
    }

    /// When registry lookups must be over: the apiserver's `?timeout=` less a margin for the answer
    /// to travel back (half of it, at most 500ms), and never later than `--registry-timeout`.
    static func lookupDeadline(uri: String, started: ContinuousClock.Instant, cap: Duration) -> ContinuousClock.Instant {
        var budget = cap
        if let query = uri.utf8.firstIndex(of: UInt8(ascii: "?")) {
            for pair in uri[uri.index(after: query)...].split(separator: "&") where pair.hasPrefix("timeout=") {
                if let timeout = GoDuration.parse(String(pair.dropFirst(8))), timeout > .zero {
                    budget = min(budget, timeout - min(timeout / 2, .milliseconds(500)))
                }
            }
        }
        return started + budget
    }

    /// Out of time (`RequestDeadlineHandler`, HTTP/1.1) with no body arriving: a client trickling its head,
    /// or a decision still running past `--request-timeout`. Close; the connection's other guards follow.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is RequestDeadlineExceededEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        shared.logger.debug("connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }
}

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
