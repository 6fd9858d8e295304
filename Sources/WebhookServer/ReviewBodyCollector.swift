import NIOCore
import NIOHTTP1

/// Collects a review's body into one array under the byte budget (`--max-buffered-bytes`) and the size
/// limit (`--max-body-bytes`), then passes the whole request on as a `CollectedReview`.
///
/// A declared `Content-Length` is charged whole with the head: under a flood the bodies admitted can finish
/// and the others are refused at once, instead of all of them holding part of the budget. A chunked body is
/// charged as its array grows (by doubling). Bodies over `ServerLimits.smallRequestBytes` count as large and
/// share only part of the budget. On HTTP/2 this handler also bounds the request's time; on HTTP/1.1
/// `RequestDeadlineHandler` does, and reaches it with `RequestDeadlineExceededEvent`.
final class ReviewBodyCollector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = RoutedRequestPart
    typealias InboundOut = CollectedReview
    typealias OutboundOut = HTTPServerResponsePart

    private struct Receiving {
        var routed: RoutedHead
        var body: [UInt8]
        var started: ContinuousClock.Instant
        var hold: BudgetHold
    }

    private enum State {
        case idle
        case receiving(Receiving)
        /// A refusal was sent; the rest of the request is dropped.
        case discarding
    }

    private let shared: WebhookContext
    private let writer: ResponseWriter
    private var state = State.idle
    private var timeout: Scheduled<Void>?

    init(context: WebhookContext, isHTTP2: Bool) {
        self.shared = context
        self.writer = ResponseWriter(isHTTP2: isHTTP2)
    }

    private var limits: ServerLimits { shared.limits }
    private static let busy = HTTPErrorResponse(status: .serviceUnavailable, message: "server is busy: too many request bytes in flight; retry")

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let routed):
            receiveHead(routed, context: context)
        case .body(let chunk):
            guard case .receiving(var request) = state else { return }
            let needed = request.body.count + chunk.readableBytes
            guard needed <= limits.maximumBodyBytes else {
                refuse(HTTPErrorResponse(status: .payloadTooLarge, message: "request body is larger than \(limits.maximumBodyBytes) bytes"), request, context: context)
                return
            }
            // With a declared length the whole body was charged with the head; a chunked body is charged
            // at its array's capacity as it grows.
            var capacity = request.body.capacity
            if needed > capacity { capacity = min(max(needed, capacity * 2), limits.maximumBodyBytes) }
            let target = request.routed.declaredLength == nil ? capacity : needed
            guard request.hold.raise(to: target, total: needed, smallLimit: limits.smallRequestBytes) else {
                refuse(Self.busy, request, context: context)
                return
            }
            state = .idle  // Let the array be uniquely referenced while appending.
            if capacity > request.body.capacity { request.body.reserveCapacity(capacity) }
            request.body.append(contentsOf: chunk.readableBytesView)
            state = .receiving(request)
        case .end:
            guard case .receiving(let request) = state else {
                state = .idle
                return
            }
            cancelTimeout()
            state = .idle
            context.fireChannelRead(wrapInboundOut(CollectedReview(
                head: request.routed.head, mode: request.routed.mode, body: request.body, started: request.started, hold: request.hold)))
        }
    }

    private func receiveHead(_ routed: RoutedHead, context: ChannelHandlerContext) {
        let hold = BudgetHold(budget: shared.bodyBudget)
        if let length = routed.declaredLength, !hold.raise(to: length, total: length, smallLimit: limits.smallRequestBytes) {
            state = .discarding
            writer.refuse(Self.busy, head: routed.head, keepAlive: false, shared: shared, context: context)
            return
        }
        // Sized once from the declared length, so the body is never copied to grow; only the pages written
        // become resident (large allocations are fresh mappings: see `MemoryTuning`).
        var body: [UInt8] = []
        body.reserveCapacity(min(routed.declaredLength ?? 16_384, limits.maximumBodyBytes))
        state = .receiving(Receiving(routed: routed, body: body, started: .now, hold: hold))
        guard writer.isHTTP2 else { return }
        let loopBound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        timeout = context.eventLoop.scheduleTask(in: .init(limits.requestTimeout)) {
            loopBound.value.handler.requestTimedOut(context: loopBound.value.context)
        }
    }

    private func requestTimedOut(context: ChannelHandlerContext) {
        timeout = nil
        guard case .receiving(let request) = state else { return }
        refuse(HTTPErrorResponse(status: .requestTimeout, message: "request body not received within \(limits.requestTimeout)"), request, context: context)
    }

    /// Refuses the request being received and closes: the rest of its body is not worth reading.
    private func refuse(_ error: HTTPErrorResponse, _ request: Receiving, context: ChannelHandlerContext) {
        cancelTimeout()
        request.hold.release()
        state = .discarding
        writer.refuse(error, head: request.routed.head, keepAlive: false, shared: shared, context: context)
    }

    /// `RequestDeadlineHandler` (HTTP/1.1): 408 while the body is arriving; otherwise the responder decides.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is RequestDeadlineExceededEvent, case .receiving(let request) = state {
            refuse(HTTPErrorResponse(status: .requestTimeout, message: "request body not received within \(limits.requestTimeout)"), request, context: context)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func cancelTimeout() {
        timeout?.cancel()
        timeout = nil
    }

    private func abandon() {
        cancelTimeout()
        if case .receiving(let request) = state { request.hold.release() }
        state = .idle
    }

    func channelInactive(context: ChannelHandlerContext) {
        abandon()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        abandon()
    }
}
