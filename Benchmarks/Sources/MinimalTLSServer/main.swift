// The SwiftNIO + swift-nio-ssl floor: the smallest server that does the same exchange as `serve`
// (TLS, HTTP/1.1 or HTTP/2 by ALPN, read the whole body, answer fixed bytes), with nothing else:
// no routing, limits, decoding, decision, log line or metrics. What `serve` costs above this is ours.
//
// Usage: MinimalTLSServer <port> <cert.pem> <key.pem> <response-file> [threads]
import Foundation
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL

let arguments = CommandLine.arguments
guard arguments.count >= 5, let port = Int(arguments[1]) else {
    FileHandle.standardError.write(Data("usage: MinimalTLSServer <port> <cert.pem> <key.pem> <response-file> [threads]\n".utf8))
    exit(2)
}
let threads = arguments.count > 5 ? Int(arguments[5]) ?? 2 : 2
let answer = try [UInt8](Data(contentsOf: URL(fileURLWithPath: arguments[4])))

var tlsConfiguration = TLSConfiguration.makeServerConfiguration(
    certificateChain: try NIOSSLCertificate.fromPEMFile(arguments[2]).map { .certificate($0) },
    privateKey: .privateKey(try NIOSSLPrivateKey(file: arguments[3], format: .pem)))
tlsConfiguration.applicationProtocols = ["h2", "http/1.1"]
let sslContext = try NIOSSLContext(configuration: tlsConfiguration)

/// Reads a request to its end, then writes the fixed answer.
final class StaticAnswerHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let answer: [UInt8]
    let isHTTP2: Bool

    init(answer: [UInt8], isHTTP2: Bool) {
        self.answer = answer
        self.isHTTP2 = isHTTP2
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = unwrapInboundIn(data) else { return }
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "content-length", value: String(answer.count))
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: isHTTP2 ? .http2 : .http1_1, status: .ok, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: answer)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}

let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
let channel = try ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 256)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
        }.flatMap {
            channel.configureHTTP2SecureUpgrade(
                h2ChannelConfigurator: { connection in
                    connection.configureHTTP2Pipeline(mode: .server) { stream in
                        stream.eventLoop.makeCompletedFuture {
                            try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                            try stream.pipeline.syncOperations.addHandler(StaticAnswerHandler(answer: answer, isHTTP2: true))
                        }
                    }.map { _ in }
                },
                http1ChannelConfigurator: { connection in
                    connection.eventLoop.makeCompletedFuture {
                        try connection.pipeline.syncOperations.configureHTTPServerPipeline()
                        try connection.pipeline.syncOperations.addHandler(StaticAnswerHandler(answer: answer, isHTTP2: false))
                    }
                })
        }
    }
    .bind(host: "127.0.0.1", port: port)
    .wait()
FileHandle.standardError.write(Data("listening on \(channel.localAddress.map { "\($0)" } ?? "?")\n".utf8))
try channel.closeFuture.wait()
