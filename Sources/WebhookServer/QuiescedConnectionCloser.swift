import NIOCore
import NIOHTTP2

/// On drain, closes an HTTP/2 connection as soon as it has no open stream.
///
/// The connection manager sends GOAWAY and a PING on quiesce but closes only after the PING is
/// acknowledged, which an idle client that is not reading never does. After `window` (time for the
/// GOAWAY to arrive and for streams already sent to open) this closes the connection once it is idle.
final class QuiescedConnectionCloser: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    private let streams: StreamCounter
    private let window: TimeAmount
    private let interval: TimeAmount = .milliseconds(100)
    private var task: RepeatedTask?

    init(streams: StreamCounter, window: TimeAmount = .seconds(1)) {
        self.streams = streams
        self.window = window
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent, task == nil {
            let channel = context.channel
            let streams = streams
            task = context.eventLoop.scheduleRepeatedTask(initialDelay: window, delay: interval) { task in
                if streams.count == 0 {
                    task.cancel()
                    channel.close(promise: nil)
                }
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        task?.cancel()
    }

    func channelInactive(context: ChannelHandlerContext) {
        task?.cancel()
        task = nil
        context.fireChannelInactive()
    }
}
