import NIOCore
import NIOHTTP1
import NIOPosix

/// Plain HTTP on the metrics port: `GET /metrics`, `/healthz` and `/readyz`.
///
/// Bounded like the webhook listener, so that idle or trickling connections cannot starve the kubelet's
/// probes: at most `metricsMaximumConnections` (the longest-idle one makes room), a short time to the first
/// request, `metricsRequestTimeout` per request and `metricsIdleTimeout` between them.
struct OperationsListener {
    let group: any EventLoopGroup
    let address: ListenAddress
    let metrics: ServerMetrics?
    let readiness: Readiness
    let limits: ServerLimits
    /// Runs before each `/metrics` answer, to bring pulled figures up to date.
    var beforeScrape: @Sendable () -> Void = {}

    func bind() async throws -> any Channel {
        let metrics = metrics
        let readiness = readiness
        let beforeScrape = beforeScrape
        let limits = limits
        let admission = ConnectionAdmission(
            handshakes: nil, connections: ConnectionCounter(limit: limits.metricsMaximumConnections),
            firstRequestTimeout: TimeAmount(min(limits.firstRequestTimeout, limits.metricsRequestTimeout)),
            events: metrics?.operationsConnectionEvents ?? ConnectionEvents())
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let activity = ConnectionActivity()
                guard admission.establish(channel, activity: activity) else { return channel.eventLoop.makeSucceededVoidFuture() }
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(IdleCloseHandler(timeout: TimeAmount(limits.metricsIdleTimeout)))
                    try sync.configureDeadlineBoundHTTPServerPipeline(
                        deadline: RequestDeadlineHandler(timeout: TimeAmount(limits.metricsRequestTimeout), answerGrace: .zero, activity: activity),
                        errorHandling: true)
                    try sync.addHandler(OperationsHandler(metrics: metrics, readiness: readiness, beforeScrape: beforeScrape))
                }
            }
            .bind(host: address.host, port: address.port)
            .get()
    }
}

final class OperationsHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let metrics: ServerMetrics?
    private let readiness: Readiness
    private let beforeScrape: @Sendable () -> Void
    private var head: HTTPRequestHead?

    init(metrics: ServerMetrics?, readiness: Readiness, beforeScrape: @escaping @Sendable () -> Void) {
        self.metrics = metrics
        self.readiness = readiness
        self.beforeScrape = beforeScrape
    }

    /// Out of time (`RequestDeadlineHandler`): these answers take microseconds, so the client is trickling.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is RequestDeadlineExceededEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break
        case .end:
            guard let head else { return }
            self.head = nil
            let path = ReviewRouter.path(of: head.uri)
            let (status, contentType, body): (HTTPResponseStatus, String, [UInt8])
            switch (head.method, path) {
            case (.GET, "/metrics"), (.HEAD, "/metrics"):
                beforeScrape()
                (status, contentType, body) = (.ok, "text/plain; version=0.0.4; charset=utf-8", metrics?.exposition() ?? [])
            case (.GET, "/healthz"), (.HEAD, "/healthz"):
                (status, contentType, body) = (.ok, "text/plain; charset=utf-8", Array("ok\n".utf8))
            case (.GET, "/readyz"), (.HEAD, "/readyz"):
                (status, contentType, body) = readiness.isReady
                    ? (.ok, "text/plain; charset=utf-8", Array("ok\n".utf8))
                    : (.serviceUnavailable, "text/plain; charset=utf-8", Array("not ready\n".utf8))
            case (_, "/metrics"), (_, "/healthz"), (_, "/readyz"):
                (status, contentType, body) = (.methodNotAllowed, "text/plain; charset=utf-8", Array("use GET\n".utf8))
            default:
                (status, contentType, body) = (.notFound, "text/plain; charset=utf-8", Array("not found\n".utf8))
            }
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: contentType)
            headers.add(name: "content-length", value: String(body.count))
            if !head.isKeepAlive { headers.add(name: "connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
            if head.method != .HEAD {
                var buffer = context.channel.allocator.buffer(capacity: body.count)
                buffer.writeBytes(body)
                context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            }
            let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
            context.triggerUserOutboundEvent(RequestCompletedEvent(), promise: nil)
            if !head.isKeepAlive {
                let channel = context.channel
                written.whenComplete { _ in channel.close(promise: nil) }
            }
        }
    }
}
