import Logging
import NIOCore
import NIOExtras
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL

/// The TLS listener: per connection, a pending-handshake slot, TLS with a fresh context, a handshake timeout,
/// then an established slot (see `ConnectionAdmission`), an idle timeout, and HTTP/2 or HTTP/1.1 as ALPN
/// decides, each ending in the review handlers (`addReviewHandlers`).
struct WebhookListener {
    let group: any EventLoopGroup
    let address: ListenAddress
    let tls: TLSContextProvider
    let context: WebhookContext
    let quiescing: ServerQuiescingHelper
    let connections: ConnectionCounter
    /// How long an HTTP/2 connection may take to finish its streams after GOAWAY.
    let drainGrace: Duration

    /// Streams one HTTP/2 connection may have open at once.
    static let maximumConcurrentStreams = 16

    func bind() async throws -> any Channel {
        let limits = context.limits
        let tls = tls
        let quiescing = quiescing
        let admission = ConnectionAdmission(
            handshakes: HandshakeGate(
                limit: limits.maximumPendingHandshakes, perSourceLimit: limits.maximumPendingHandshakesPerSource,
                countChanged: { [metrics = context.metrics] in metrics?.recordPendingHandshakes($0) }),
            connections: connections, firstRequestTimeout: TimeAmount(limits.firstRequestTimeout),
            events: context.metrics?.webhookConnectionEvents ?? ConnectionEvents())
        let listener = self
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(quiescing.makeServerChannelHandler(channel: channel))
                }
            }
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                admission.acceptPending(channel)
                let activity = ConnectionActivity()
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try tls.addHandlers(to: sync)
                    try sync.addHandler(HandshakeTimeoutHandler(timeout: TimeAmount(limits.handshakeTimeout)) { channel in
                        admission.establish(channel, activity: activity)
                    })
                    try sync.addHandler(IdleCloseHandler(timeout: TimeAmount(limits.idleTimeout)))
                }.flatMap {
                    channel.configureHTTP2SecureUpgrade(
                        h2ChannelConfigurator: { connection in
                            connection.eventLoop.makeCompletedFuture { try listener.configureHTTP2(connection, activity: activity) }
                        },
                        http1ChannelConfigurator: { connection in
                            connection.eventLoop.makeCompletedFuture { try listener.configureHTTP1(connection, activity: activity) }
                        }
                    )
                }
            }
            .bind(host: address.host, port: address.port)
            .get()
    }

    /// HTTP/2: the connection manager turns a quiesce into GOAWAY (and closes when streams finish), closes
    /// idle connections, and bounds the drain of each connection. Each stream is a request in flight.
    func configureHTTP2(_ connection: any Channel, activity: ConnectionActivity) throws {
        let limits = context.limits
        let shared = context
        let manager = NIOHTTP2ServerConnectionManagementHandler(
            eventLoop: connection.eventLoop,
            configuration: .init(
                maxIdleTime: TimeAmount(limits.idleTimeout), maxAge: nil,
                maxGraceTime: TimeAmount(drainGrace), keepalive: nil))
        var settings = NIOHTTP2Handler.ConnectionConfiguration()
        // Each stream may buffer a whole body: bound the streams per connection.
        settings.initialSettings = nioDefaultSettings.map {
            $0.parameter == .maxConcurrentStreams
                ? HTTP2Setting(parameter: .maxConcurrentStreams, value: WebhookListener.maximumConcurrentStreams) : $0
        }
        let streams = StreamCounter(forwardingTo: manager.http2StreamDelegate, activity: activity)
        _ = try connection.pipeline.syncOperations.configureHTTP2Pipeline(
            mode: .server,
            connectionConfiguration: settings,
            streamConfiguration: .init(),
            streamDelegate: streams
        ) { stream in
            stream.eventLoop.makeCompletedFuture {
                let sync = stream.pipeline.syncOperations
                try sync.addHandler(HTTP2FramePayloadToHTTP1ServerCodec(), name: "http2-to-http1-codec")
                try sync.addReviewHandlers(context: shared, isHTTP2: true)
            }
        }
        try connection.pipeline.syncOperations.addHandler(FlushBeforeCloseHandler())
        try connection.pipeline.syncOperations.addHandler(manager)
        try connection.pipeline.syncOperations.addHandler(QuiescedConnectionCloser(streams: streams))
    }

    /// HTTP/1.1: every request, pipelined or not, runs under `--request-timeout`, and counts as in flight
    /// while it does.
    func configureHTTP1(_ connection: any Channel, activity: ConnectionActivity) throws {
        let sync = connection.pipeline.syncOperations
        try sync.configureDeadlineBoundHTTPServerPipeline(
            deadline: RequestDeadlineHandler(timeout: TimeAmount(context.limits.requestTimeout), activity: activity), errorHandling: false)
        try sync.addHandler(MalformedRequestResponder(context: context))
        try sync.addReviewHandlers(context: context, isHTTP2: false)
    }
}

extension ChannelPipeline.SynchronousOperations {
    /// The review handlers, one job each: route and validate, collect the body under the budget, decide and respond.
    /// Named: NIO otherwise formats a name for each (`"handler\(n)"`), about 600 instructions a handler on
    /// every HTTP/2 stream.
    func addReviewHandlers(context: WebhookContext, isHTTP2: Bool) throws {
        try addHandler(ReviewRouter(context: context, isHTTP2: isHTTP2), name: "review-router")
        try addHandler(ReviewBodyCollector(context: context, isHTTP2: isHTTP2), name: "review-body-collector")
        try addHandler(ReviewResponder(context: context, isHTTP2: isHTTP2), name: "review-responder")
    }
}
