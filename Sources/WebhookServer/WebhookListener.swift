import Logging
import NIOCore
import NIOExtras
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL

/// The TLS listener: per connection, a connection limit, TLS with a fresh context, a handshake timeout,
/// an idle timeout, then HTTP/2 or HTTP/1.1 as ALPN decides, each ending in `WebhookRequestHandler`.
struct WebhookListener {
    let group: any EventLoopGroup
    let address: ListenAddress
    let tls: TLSContextProvider
    let context: WebhookContext
    let quiescing: ServerQuiescingHelper
    let connections: ConnectionCounter

    func bind() async throws -> any Channel {
        let limits = context.limits
        let shared = context
        let tls = tls
        let connections = connections
        let quiescing = quiescing
        let metrics = context.metrics
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
                guard connections.admit() else {
                    metrics?.recordRejectedConnection()
                    return channel.close()
                }
                metrics?.recordOpenConnections(connections.count)
                channel.closeFuture.whenComplete { _ in
                    connections.release()
                    metrics?.recordOpenConnections(connections.count)
                }
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(NIOSSLServerHandler(context: tls.context()))
                    try sync.addHandler(HandshakeTimeoutHandler(timeout: TimeAmount(limits.handshakeTimeout)))
                    try sync.addHandler(IdleStateHandler(allTimeout: TimeAmount(limits.idleTimeout)))
                    try sync.addHandler(IdleCloseHandler())
                }.flatMap {
                    channel.configureHTTP2SecureUpgrade(
                        h2ChannelConfigurator: { connection in
                            connection.configureHTTP2Pipeline(
                                mode: .server,
                                connectionConfiguration: .init(),
                                streamConfiguration: .init()
                            ) { stream in
                                stream.eventLoop.makeCompletedFuture {
                                    try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                                    try stream.pipeline.syncOperations.addHandler(WebhookRequestHandler(context: shared, isHTTP2: true))
                                }
                            }.map { _ in () }
                        },
                        http1ChannelConfigurator: { connection in
                            connection.eventLoop.makeCompletedFuture {
                                let sync = connection.pipeline.syncOperations
                                try sync.addHandler(RequestDeadlineHandler(timeout: TimeAmount(limits.requestTimeout)))
                                try sync.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: true)
                                try sync.addHandler(WebhookRequestHandler(context: shared, isHTTP2: false))
                            }
                        }
                    )
                }
            }
            .bind(host: address.host, port: address.port)
            .get()
    }
}
