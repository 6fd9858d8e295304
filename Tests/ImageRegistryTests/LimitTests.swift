import Testing
import ImageConfig
import ImageResolution
import NonRootPolicy
@testable import ImageRegistry

@Suite("RegistryGate")
struct RegistryGateTests {
    @Test("units are granted while they fit and given back on release")
    func grantAndRelease() async {
        let gate = RegistryGate(capacity: 10)
        #expect(await gate.acquire(6, deadline: .now + .seconds(5)))
        #expect(await gate.acquire(4, deadline: .now + .seconds(5)))
        #expect(gate.used == 10)
        gate.release(4)
        #expect(gate.used == 6)
        gate.release(6)
        #expect(gate.used == 0)
    }

    @Test("a request that does not fit waits until its deadline, then is refused and takes nothing")
    func refusedAtDeadline() async {
        let gate = RegistryGate(capacity: 2)
        #expect(await gate.acquire(2, deadline: .now + .seconds(5)))
        let started = ContinuousClock.now
        #expect(await gate.acquire(1, deadline: .now + .milliseconds(200)) == false)
        #expect(ContinuousClock.now - started >= .milliseconds(200))
        #expect(gate.used == 2)
        gate.release(2)
        #expect(gate.used == 0)
    }

    @Test("more than the whole capacity is refused at once")
    func largerThanCapacity() async {
        let gate = RegistryGate(capacity: 2)
        let started = ContinuousClock.now
        #expect(await gate.acquire(3, deadline: .now + .seconds(5)) == false)
        #expect(ContinuousClock.now - started < .seconds(1))
        #expect(gate.used == 0)
    }

    @Test("a waiter is granted when room comes free, first come first served")
    func waitersInOrder() async {
        let gate = RegistryGate(capacity: 1)
        #expect(await gate.acquire(1, deadline: .now + .seconds(5)))
        let order = OrderLog()
        async let first: Bool = { let granted = await gate.acquire(1, deadline: .now + .seconds(10)); order.append(1); return granted }()
        while gate.waiting < 1 { await Task.yield() }
        async let second: Bool = { let granted = await gate.acquire(1, deadline: .now + .seconds(10)); order.append(2); return granted }()
        while gate.waiting < 2 { await Task.yield() }
        gate.release(1)
        #expect(await first)
        #expect(order.values == [1])
        gate.release(1)
        #expect(await second)
        #expect(order.values == [1, 2])
        gate.release(1)
        #expect(gate.used == 0)
    }

    @Test("the queue is bounded: past maximumWaiters a request is refused at once")
    func boundedQueue() async {
        let gate = RegistryGate(capacity: 1, maximumWaiters: 1)
        #expect(await gate.acquire(1, deadline: .now + .seconds(5)))
        async let waiting = gate.acquire(1, deadline: .now + .seconds(10))
        while gate.waiting < 1 { await Task.yield() }
        let started = ContinuousClock.now
        #expect(await gate.acquire(1, deadline: .now + .seconds(10)) == false)
        #expect(ContinuousClock.now - started < .seconds(1))
        gate.release(1)
        #expect(await waiting)
        gate.release(1)
        #expect(gate.used == 0)
    }

    @Test("a charge gives its units back once, when released or dropped")
    func charges() async {
        let gate = RegistryGate(capacity: 100)
        #expect(await gate.acquire(60, deadline: .now + .seconds(5)))
        var charge: GateCharge? = GateCharge(gate, amount: 60)
        charge?.shrink(to: 25)
        #expect(gate.used == 25)
        charge?.release()
        charge?.release()
        #expect(gate.used == 0)
        #expect(await gate.acquire(10, deadline: .now + .seconds(5)))
        charge = GateCharge(gate, amount: 10)
        charge = nil
        #expect(gate.used == 0)
    }
}

private final class OrderLog: @unchecked Sendable {
    private let lock = NSLockLike()
    private var storage: [Int] = []
    func append(_ value: Int) { lock.withLock { storage.append(value) } }
    var values: [Int] { lock.withLock { storage } }
}

import Synchronization
private final class NSLockLike: Sendable {
    private let mutex = Mutex(())
    func withLock<T>(_ body: () -> T) -> T { mutex.withLock { _ in body() } }
}

@Suite("index entry bound")
struct IndexBoundTests {
    private static func digest(_ n: Int) -> String { "sha256:" + String(repeating: String(n % 10), count: 64) }

    @Test("platforms past the bound are unresolved platforms, naming the bound and the platforms left out")
    func unevaluated() throws {
        let resolved = ResolvedImage(
            reference: try ImageReference(parsing: "127.0.0.1:5100/oci/users:multiarch"), digest: Self.digest(0),
            variants: [ResolvedVariant(platform: Platform(os: "linux", architecture: "amd64"), user: "1000", manifestDigest: Self.digest(1), configDigest: Self.digest(2))],
            isIndex: true, unevaluatedPlatforms: [Platform(os: "linux", architecture: "arm64", variant: "v8"), Platform(os: "windows", architecture: "amd64")],
            indexEntryLimit: 1)
        #expect(resolved.lookup == .partlyFound(
            [ImageUserVariant(user: .uid(1000), platform: "linux/amd64")], unevaluated: ["linux/arm64/v8", "windows/amd64"],
            reason: "the image index lists 3 platforms to evaluate, more than the 1 evaluated per image; not evaluated: linux/arm64/v8, windows/amd64"))
    }

    @Test("at most eight platforms are named, then a count")
    func longList() throws {
        let left = (0..<11).map { Platform(os: "linux", architecture: "arch\($0)") }
        let resolved = ResolvedImage(
            reference: try ImageReference(parsing: "127.0.0.1:5100/oci/users:multiarch"), digest: Self.digest(0), variants: [],
            isIndex: true, unevaluatedPlatforms: left, indexEntryLimit: 24)
        #expect(resolved.unevaluatedReason == "the image index lists 11 platforms to evaluate, more than the 24 evaluated per image; not evaluated: linux/arch0, linux/arch1, linux/arch2, linux/arch3, linux/arch4, linux/arch5, linux/arch6, linux/arch7 and 3 more")
    }

    @Test("the defaults: 24 entries, 1 MiB documents, 64 fetches, 32 MiB in flight")
    func defaults() {
        let configuration = RegistryConfiguration()
        #expect(configuration.maximumIndexEntries == 24)
        #expect(configuration.maximumManifestBytes == 1_048_576)
        #expect(configuration.maximumConfigBytes == 1_048_576)
        #expect(configuration.maximumConcurrentFetches == 64)
        #expect(configuration.maximumBytesInFlight == 33_554_432)
        #expect(configuration.minimumBytesInFlight == 10_485_760)
    }

    @Test("a byte cap below one document's parse is refused at setup")
    func tooSmallByteCap() {
        var configuration = RegistryConfiguration()
        configuration.maximumBytesInFlight = 10_485_759
        #expect(throws: RegistrySetupError(reason: "--registry-max-bytes-in-flight must be at least 10485760 bytes: the largest document accepted, and its parse")) {
            _ = try RegistryLookup(configuration: configuration)
        }
    }
}
