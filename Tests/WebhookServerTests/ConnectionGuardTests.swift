import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOTLS
import Testing
@testable import WebhookServer

// The connection guards on EmbeddedChannels with a virtual clock: which connection each bound closes,
// which events each handler sends, and when.

/// Inbound user events and reads that reached the end of the pipeline.
private final class Recorder: ChannelInboundHandler {
    typealias InboundIn = NIOAny
    var deadlines = 0
    var otherEvents: [String] = []

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is RequestDeadlineExceededEvent { deadlines += 1 } else { otherEvents.append("\(event)") }
    }
}

/// Answers every complete request at once with a 200 whose body is `ok`, as `ReviewResponder` does for a
/// catalog decision, and says so with `RequestCompletedEvent`.
private final class Answerer: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    var answered: [String] = []
    var deadlines = 0
    private var uri = ""

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): uri = head.uri
        case .body: break
        case .end:
            answered.append(uri)
            var headers = HTTPHeaders()
            headers.add(name: "content-length", value: "2")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "ok")))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            context.triggerUserOutboundEvent(RequestCompletedEvent(), promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is RequestDeadlineExceededEvent { deadlines += 1 }
    }
}

private func connectedChannel(_ handlers: [any ChannelHandler] = []) throws -> EmbeddedChannel {
    let channel = EmbeddedChannel()
    try channel.pipeline.syncOperations.addHandlers(handlers)
    try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 8443)).wait()
    return channel
}

private func same(_ a: [any Channel], _ b: [EmbeddedChannel]) -> Bool {
    a.map(ObjectIdentifier.init) == b.map(ObjectIdentifier.init)
}

private func at(_ seconds: Int64) -> NIODeadline { .uptimeNanoseconds(UInt64(seconds) * 1_000_000_000) }

private let request = "POST /validate HTTP/1.1\r\nHost: x\r\ncontent-length: 2\r\n\r\n{}"

@Suite("connection guards")
struct ConnectionGuardTests {
    @Suite("HandshakeGate")
    struct Gate {
        /// Past the per-source bound that source's oldest goes; past the total bound the oldest overall goes.
        @Test func evictsOldestOfSourceThenOldestOverall() {
            let gate = HandshakeGate(limit: 4, perSourceLimit: 2)
            let a = (0..<3).map { _ in EmbeddedChannel() }
            let b = (0..<2).map { _ in EmbeddedChannel() }
            let c = EmbeddedChannel()
            #expect(gate.admit(a[0], source: "10.0.0.1").isEmpty)
            #expect(gate.admit(a[1], source: "10.0.0.1").isEmpty)
            #expect(same(gate.admit(a[2], source: "10.0.0.1"), [a[0]]))
            #expect(gate.admit(b[0], source: "10.0.0.2").isEmpty)
            #expect(gate.admit(b[1], source: "10.0.0.2").isEmpty)
            #expect(gate.count == 4)
            #expect(same(gate.admit(c, source: "10.0.0.3"), [a[1]]))
            #expect(gate.count == 4)
        }

        /// Release frees the slot (twice is harmless), and frees the source's share too.
        @Test func releaseFreesSlotAndShare() {
            let gate = HandshakeGate(limit: 2, perSourceLimit: 1)
            let first = EmbeddedChannel()
            let second = EmbeddedChannel()
            #expect(gate.admit(first, source: "10.0.0.1").isEmpty)
            gate.release(first)
            gate.release(first)
            #expect(gate.count == 0)
            #expect(gate.admit(second, source: "10.0.0.1").isEmpty)
            #expect(gate.count == 1)
        }

        /// The source is the peer's address without the port.
        @Test func sourceIsPeerAddress() throws {
            let channel = try connectedChannel()
            #expect(HandshakeGate.source(of: channel) == "127.0.0.1")
            #expect(HandshakeGate.source(of: EmbeddedChannel()) == "unknown")
        }
    }

    @Suite("ConnectionCounter")
    struct Counter {
        /// When full, the connection idle the longest makes room; ones with a request in flight never do.
        @Test func evictsLongestIdleNeverBusy() {
            let counter = ConnectionCounter(limit: 3)
            let channels = (0..<5).map { _ in EmbeddedChannel() }
            let busyOldest = ConnectionActivity(now: at(10))
            busyOldest.requestStarted()
            let idle20 = ConnectionActivity(now: at(20))
            let idle30 = ConnectionActivity(now: at(30))
            #expect(counter.admit(channels[0], activity: busyOldest).evicted == .some(nil))
            #expect(counter.admit(channels[1], activity: idle30).evicted == .some(nil))
            #expect(counter.admit(channels[2], activity: idle20).evicted == .some(nil))
            #expect(counter.admit(channels[3], activity: ConnectionActivity(now: at(40))).evicted == .some(ObjectIdentifier(channels[2])))
            #expect(counter.count == 3)
            #expect(counter.admit(channels[4], activity: ConnectionActivity(now: at(50))).evicted == .some(ObjectIdentifier(channels[1])))
        }

        /// Every connection busy: the newcomer is refused and nothing is closed.
        @Test func refusesWhenAllBusy() {
            let counter = ConnectionCounter(limit: 2)
            let activities = [ConnectionActivity(now: at(1)), ConnectionActivity(now: at(2))]
            for activity in activities { activity.requestStarted() }
            #expect(counter.admit(EmbeddedChannel(), activity: activities[0]).evicted == .some(nil))
            #expect(counter.admit(EmbeddedChannel(), activity: activities[1]).evicted == .some(nil))
            #expect(counter.admit(EmbeddedChannel(), activity: ConnectionActivity()).evicted == nil)
            #expect(counter.count == 2)
            // Once its request is answered, the second is idle since then and can make room.
            activities[1].requestFinished(now: at(3))
            #expect(activities[1].idleSince == at(3))
            if case .admittedEvicting = counter.admit(EmbeddedChannel(), activity: ConnectionActivity()) {} else {
                Issue.record("an idle connection was not evicted")
            }
        }

        /// Idle time restarts only when the last request in flight finishes.
        @Test func activityCountsRequests() {
            let activity = ConnectionActivity(now: at(1))
            #expect(activity.isIdle && !activity.hasStartedRequest)
            activity.requestStarted()
            activity.requestStarted()
            activity.requestFinished(now: at(5))
            #expect(!activity.isIdle && activity.idleSince == at(1))
            activity.requestFinished(now: at(7))
            #expect(activity.isIdle && activity.hasStartedRequest && activity.idleSince == at(7))
        }
    }

    @Suite("HandshakeTimeoutHandler")
    struct Handshake {
        @Test func closesWhenHandshakeTooSlow() throws {
            let channel = try connectedChannel([HandshakeTimeoutHandler(timeout: .seconds(10))])
            channel.embeddedEventLoop.advanceTime(by: .milliseconds(9999))
            #expect(channel.isActive)
            channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
            #expect(!channel.isActive)
        }

        /// A completed handshake: the event goes on, the callback runs once, the handler leaves, no close.
        @Test func completionEstablishesOnce() throws {
            var established: [ObjectIdentifier] = []
            let recorder = Recorder()
            let channel = try connectedChannel([HandshakeTimeoutHandler(timeout: .seconds(10)) { established.append(ObjectIdentifier($0)) }, recorder])
            channel.pipeline.fireUserInboundEventTriggered(TLSUserEvent.handshakeCompleted(negotiatedProtocol: "http/1.1"))
            channel.pipeline.fireUserInboundEventTriggered(TLSUserEvent.handshakeCompleted(negotiatedProtocol: "http/1.1"))
            #expect(established == [ObjectIdentifier(channel)])
            #expect(recorder.otherEvents.count == 2)
            #expect(throws: ChannelPipelineError.notFound) {
                _ = try channel.pipeline.syncOperations.context(handlerType: HandshakeTimeoutHandler.self)
            }
            channel.embeddedEventLoop.advanceTime(by: .seconds(60))
            #expect(channel.isActive)
        }
    }

    @Suite("IdleCloseHandler")
    struct Idle {
        private static let timeout = TimeAmount.seconds(30)

        /// Open until the last nanosecond of the timeout, closed at it.
        private func expectClosedExactlyAfterTimeout(_ channel: EmbeddedChannel, sourceLocation: SourceLocation = #_sourceLocation) {
            channel.embeddedEventLoop.advanceTime(by: Idle.timeout - .nanoseconds(1))
            #expect(channel.isActive, sourceLocation: sourceLocation)
            channel.embeddedEventLoop.advanceTime(by: .nanoseconds(1))
            #expect(!channel.isActive, sourceLocation: sourceLocation)
        }

        @Test func closesAfterTimeoutWithoutTraffic() throws {
            let channel = try connectedChannel([IdleCloseHandler(timeout: Idle.timeout)])
            expectClosedExactlyAfterTimeout(channel)
        }

        @Test func readsAndWritesPushTheCloseBack() throws {
            let channel = try connectedChannel([IdleCloseHandler(timeout: Idle.timeout)])
            channel.embeddedEventLoop.advanceTime(by: .seconds(20))
            try channel.writeInbound(ByteBuffer(string: "x"))
            channel.embeddedEventLoop.advanceTime(by: .seconds(20))
            #expect(channel.isActive)
            try channel.writeOutbound(ByteBuffer(string: "y"))
            expectClosedExactlyAfterTimeout(channel)
        }

        @Test func neverIdleInsideAReadBurst() throws {
            let channel = try connectedChannel([IdleCloseHandler(timeout: Idle.timeout)])
            channel.pipeline.fireChannelRead(ByteBuffer(string: "x"))
            channel.embeddedEventLoop.advanceTime(by: Idle.timeout * 3)
            #expect(channel.isActive)
            channel.pipeline.fireChannelReadComplete()
            expectClosedExactlyAfterTimeout(channel)
        }

        @Test func removedHandlerLeavesNoTimer() throws {
            let handler = IdleCloseHandler(timeout: Idle.timeout)
            let channel = try connectedChannel([handler])
            try channel.pipeline.syncOperations.removeHandler(handler).wait()
            channel.embeddedEventLoop.advanceTime(by: Idle.timeout * 2)
            #expect(channel.isActive)
        }
    }

    @Suite("ConnectionAdmission")
    struct Admission {
        /// Established but silent: closed at the first-request timeout; a started request keeps it.
        @Test func firstRequestTimeout() throws {
            let admission = ConnectionAdmission(handshakes: nil, connections: ConnectionCounter(limit: 4), firstRequestTimeout: .seconds(5))
            let silent = try connectedChannel()
            let talking = try connectedChannel()
            let talkingActivity = ConnectionActivity()
            #expect(admission.establish(silent, activity: ConnectionActivity()))
            #expect(admission.establish(talking, activity: talkingActivity))
            talkingActivity.requestStarted()
            #expect(admission.connections.count == 2)
            silent.embeddedEventLoop.advanceTime(by: .milliseconds(4999))
            #expect(silent.isActive)
            silent.embeddedEventLoop.advanceTime(by: .milliseconds(1))
            talking.embeddedEventLoop.advanceTime(by: .seconds(5))
            #expect(!silent.isActive)
            #expect(talking.isActive)
            #expect(admission.connections.count == 1)
        }

        /// A full listener closes its longest-idle connection for a newcomer, and refuses (closes) one when all are busy.
        @Test func evictsThenRefuses() throws {
            let admission = ConnectionAdmission(handshakes: HandshakeGate(limit: 8, perSourceLimit: 8), connections: ConnectionCounter(limit: 1), firstRequestTimeout: .seconds(5))
            let old = try connectedChannel()
            let new = try connectedChannel()
            let refused = try connectedChannel()
            admission.acceptPending(old)
            #expect(admission.handshakes?.count == 1)
            #expect(admission.establish(old, activity: ConnectionActivity()))
            #expect(admission.handshakes?.count == 0)
            let busy = ConnectionActivity()
            #expect(admission.establish(new, activity: busy))
            busy.requestStarted()
            #expect(!old.isActive)
            #expect(!admission.establish(refused, activity: ConnectionActivity()))
            #expect(!refused.isActive)
            #expect(new.isActive)
        }
    }

    @Suite("RequestDeadlineHandler")
    struct Deadline {
        /// From the first byte: the event at the timeout, the close `answerGrace` later.
        @Test func firesThenCloses() throws {
            let activity = ConnectionActivity()
            let recorder = Recorder()
            let channel = try connectedChannel([RequestDeadlineHandler(timeout: .seconds(2), activity: activity), recorder])
            try channel.writeInbound(ByteBuffer(string: "PO"))
            #expect(!activity.isIdle)
            channel.embeddedEventLoop.advanceTime(by: .milliseconds(1999))
            #expect(recorder.deadlines == 0)
            channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
            #expect(recorder.deadlines == 1)
            #expect(channel.isActive)
            channel.embeddedEventLoop.advanceTime(by: .seconds(1))
            #expect(!channel.isActive)
        }

        /// A response ends the deadline; the connection is idle again and may stay.
        @Test func responseEndsDeadline() throws {
            let activity = ConnectionActivity()
            let recorder = Recorder()
            let channel = try connectedChannel([RequestDeadlineHandler(timeout: .seconds(2), activity: activity), recorder])
            try channel.writeInbound(ByteBuffer(string: request))
            channel.pipeline.triggerUserOutboundEvent(RequestCompletedEvent(), promise: nil)
            channel.embeddedEventLoop.run()
            #expect(activity.isIdle)
            channel.embeddedEventLoop.advanceTime(by: .seconds(30))
            #expect(recorder.deadlines == 0)
            #expect(channel.isActive)
        }

        /// The decoder holding part of a next request after the response: a fresh deadline at once.
        @Test func heldBytesRestartDeadline() throws {
            let activity = ConnectionActivity()
            let recorder = Recorder()
            let channel = try connectedChannel([RequestDeadlineHandler(timeout: .seconds(2), activity: activity), recorder])
            try channel.writeInbound(ByteBuffer(string: request))
            channel.pipeline.triggerUserOutboundEvent(HTTPDecoderBufferEvent(holdsBytes: true), promise: nil)
            channel.embeddedEventLoop.advanceTime(by: .seconds(1))
            channel.pipeline.triggerUserOutboundEvent(RequestCompletedEvent(), promise: nil)
            channel.embeddedEventLoop.run()
            #expect(!activity.isIdle)
            channel.embeddedEventLoop.advanceTime(by: .milliseconds(1999))
            #expect(recorder.deadlines == 0)
            channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
            #expect(recorder.deadlines == 1)
        }
    }

    @Suite("RequestDeadlineHandler: one timer per connection")
    struct DeadlineTimer {
        /// A request answered early, then another that stalls: the timer armed for the first fires on time
        /// for nothing and re-arms, and the second gets its own full timeout, from its first byte.
        @Test func laterRequestGetsItsOwnTimeout() throws {
            let activity = ConnectionActivity()
            let recorder = Recorder()
            let channel = try connectedChannel([RequestDeadlineHandler(timeout: .seconds(2), activity: activity), recorder])
            try channel.writeInbound(ByteBuffer(string: request))
            channel.embeddedEventLoop.advanceTime(by: .milliseconds(1500))
            channel.pipeline.triggerUserOutboundEvent(RequestCompletedEvent(), promise: nil)
            channel.embeddedEventLoop.run()
            #expect(activity.isIdle)
            channel.embeddedEventLoop.advanceTime(by: .milliseconds(300))
            try channel.writeInbound(ByteBuffer(string: "POST /validate HTTP/1.1\r\nHo"))
            #expect(!activity.isIdle)
            channel.embeddedEventLoop.advanceTime(by: .milliseconds(1999))  // 3.799 s: 1.999 s into the second
            #expect(recorder.deadlines == 0)
            channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
            #expect(recorder.deadlines == 1)
            channel.embeddedEventLoop.advanceTime(by: .seconds(1))
            #expect(!channel.isActive)
        }

        /// Many requests answered in turn, then none: no event ever, and the connection stays.
        @Test func answeredRequestsNeverFire() throws {
            let activity = ConnectionActivity()
            let recorder = Recorder()
            let channel = try connectedChannel([RequestDeadlineHandler(timeout: .seconds(2), activity: activity), recorder])
            for _ in 0..<50 {
                try channel.writeInbound(ByteBuffer(string: request))
                channel.embeddedEventLoop.advanceTime(by: .milliseconds(300))
                channel.pipeline.triggerUserOutboundEvent(RequestCompletedEvent(), promise: nil)
                channel.embeddedEventLoop.run()
            }
            channel.embeddedEventLoop.advanceTime(by: .seconds(60))
            #expect(recorder.deadlines == 0)
            #expect(activity.isIdle)
            #expect(channel.isActive)
        }
    }

    @Suite("deadline-bound HTTP/1.1 pipeline")
    struct Pipeline {
        private func pipeline(_ answerer: Answerer, activity: ConnectionActivity) throws -> EmbeddedChannel {
            let channel = try connectedChannel()
            try channel.pipeline.syncOperations.configureDeadlineBoundHTTPServerPipeline(
                deadline: RequestDeadlineHandler(timeout: .seconds(2), activity: activity), errorHandling: false)
            try channel.pipeline.syncOperations.addHandler(answerer)
            return channel
        }

        /// A complete request and the start of a second in one read: the first is answered, the second
        /// gets the deadline event after the request timeout and the connection closes a grace later.
        @Test func pipelinedPartialRequestGetsDeadline() throws {
            let answerer = Answerer()
            let activity = ConnectionActivity()
            let channel = try pipeline(answerer, activity: activity)
            try channel.writeInbound(ByteBuffer(string: request + "POST /second HTTP/1.1\r\nHost: x\r\ncontent-ty"))
            channel.embeddedEventLoop.run()
            #expect(answerer.answered == ["/validate"])
            #expect(!activity.isIdle)
            channel.embeddedEventLoop.advanceTime(by: .milliseconds(1999))
            #expect(answerer.deadlines == 0)
            channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
            #expect(answerer.deadlines == 1)
            channel.embeddedEventLoop.advanceTime(by: .seconds(1))
            #expect(!channel.isActive)
        }

        /// Requests that arrive whole, or whose head arrives in pieces, leave no deadline behind.
        @Test func completeRequestsLeaveNoDeadline() throws {
            let answerer = Answerer()
            let activity = ConnectionActivity()
            let channel = try pipeline(answerer, activity: activity)
            try channel.writeInbound(ByteBuffer(string: request))
            try channel.writeInbound(ByteBuffer(string: "POST /split HTTP/1.1\r\nHo"))
            channel.embeddedEventLoop.advanceTime(by: .seconds(1))
            try channel.writeInbound(ByteBuffer(string: "st: x\r\ncontent-length: 2\r\n\r\n{}"))
            channel.embeddedEventLoop.run()
            #expect(answerer.answered == ["/validate", "/split"])
            #expect(activity.isIdle)
            channel.embeddedEventLoop.advanceTime(by: .seconds(60))
            #expect(answerer.deadlines == 0)
            #expect(channel.isActive)
        }
    }
}

extension ConnectionCounter.Admission {
    /// nil when refused; .some(nil) when admitted with no eviction; .some(victim) when it evicted one.
    fileprivate var evicted: ObjectIdentifier?? {
        switch self {
        case .admitted: .some(nil)
        case .admittedEvicting(let victim): .some(ObjectIdentifier(victim))
        case .refused: nil
        }
    }
}
