import NIOCore
import NIOEmbedded
import NIOHTTP2
import Testing
@testable import WebhookServer

// The HTTP/2 drain's last GOAWAY on an EmbeddedChannel: the connection manager writes it and closes within
// one read; what reaches the wire before the close is what the client learns about its streams.

@Suite("HTTP/2 drain: the final GOAWAY")
struct DrainGoAwayTests {
    /// Frames flushed to the wire, in order, described briefly.
    private static func flushed(_ channel: EmbeddedChannel) throws -> [String] {
        var frames: [String] = []
        while let frame = try channel.readOutbound(as: HTTP2Frame.self) {
            switch frame.payload {
            case .goAway(let lastStreamID, let code, _): frames.append("GOAWAY last=\(Int(lastStreamID)) \(code == .noError ? "NO_ERROR" : "\(code)")")
            case .ping(_, let ack): frames.append(ack ? "PING ack" : "PING")
            default: frames.append("\(frame.payload)")
            }
        }
        return frames
    }

    /// Drains a connection whose client acknowledges the GOAWAY's PING before opening its stream (nghttp2
    /// sends acks first): the manager closes at once, and the final GOAWAY must be on the wire by then.
    @Test(arguments: [true, false])
    func finalGoAwayIsFlushedBeforeTheClose(withFlusher: Bool) throws {
        let channel = EmbeddedChannel()
        let manager = NIOHTTP2ServerConnectionManagementHandler(
            eventLoop: channel.embeddedEventLoop,
            configuration: .init(maxIdleTime: nil, maxAge: nil, maxGraceTime: nil, keepalive: nil))
        if withFlusher { try channel.pipeline.syncOperations.addHandler(FlushBeforeCloseHandler()) }
        try channel.pipeline.syncOperations.addHandler(manager)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()

        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        var pingData: HTTP2PingData?
        var first: [String] = []
        while let frame = try channel.readOutbound(as: HTTP2Frame.self) {
            if case .ping(let data, ack: false) = frame.payload { pingData = data; first.append("PING") }
            if case .goAway(let last, let code, _) = frame.payload { first.append("GOAWAY last=\(Int(last)) \(code == .noError ? "NO_ERROR" : "\(code)")") }
        }
        #expect(first == ["GOAWAY last=\(Int(HTTP2StreamID.maxID)) NO_ERROR", "PING"])
        let ping = try #require(pingData)

        // The ack arrives inside a read loop (no channelReadComplete yet), as it does off a socket.
        channel.pipeline.fireChannelRead(HTTP2Frame(streamID: .rootStream, payload: .ping(ping, ack: true)))
        let final = try Self.flushed(channel)
        #expect(!channel.isActive)
        if withFlusher {
            #expect(final == ["GOAWAY last=0 NO_ERROR"])
        } else {
            // Without it the GOAWAY was still unflushed when the close came: this is the loss it prevents.
            #expect(final == [])
        }
    }
}
