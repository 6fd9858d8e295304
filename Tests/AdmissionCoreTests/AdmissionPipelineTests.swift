import AdmissionCore
import AdmissionModel
import ImageConfig
import NonRootPolicy
import Synchronization
import Testing

/// A fake image source: `catalog` answers at once, every other image is looked up. Records each call in
/// order and the most lookups in flight at once; each lookup waits (up to two seconds, never forever)
/// until `expectedLookups` have started, so serial lookups show up as one in flight, not as a hang.
private final class FakeImages: ImageUserSource {
    struct State {
        var calls: [String] = []
        var inFlight = 0
        var mostInFlight = 0
        var started = 0
        var deadlines: [ContinuousClock.Instant] = []
    }

    let catalog: [String: ImageUserLookup]
    let expectedLookups: Int
    let state = Mutex(State())

    init(catalog: [String: ImageUserLookup] = [:], expectedLookups: Int) {
        self.catalog = catalog
        self.expectedLookups = expectedLookups
    }

    func known(_ image: String) -> ImageUserLookup? {
        state.withLock { $0.calls.append("known \(image)") }
        return catalog[image]
    }

    func lookUp(_ image: String, deadline: ContinuousClock.Instant) async -> ImageUserLookup {
        state.withLock { state in
            state.calls.append("lookUp \(image)")
            state.deadlines.append(deadline)
            state.started += 1
            state.inFlight += 1
            state.mostInFlight = max(state.mostInFlight, state.inFlight)
        }
        let giveUp = ContinuousClock.now + .seconds(2)
        while state.withLock({ $0.started }) < expectedLookups, ContinuousClock.now < giveUp {
            try? await Task.sleep(for: .milliseconds(1))
        }
        state.withLock { $0.inFlight -= 1 }
        return .found(.uid(2000))
    }

    var snapshot: State { state.withLock { $0 } }
}

/// prepare → lookUp → decide, as the server and `replay`/`check` run it: exact calls, answers and messages.
struct AdmissionPipelineTests {
    static let deadline = ContinuousClock.now + .seconds(30)

    func prepared(containers: Int, distinctImages: Int, _ configuration: DecisionConfiguration = .init()) throws -> (AdmissionPipeline, PreparedReview) {
        let pipeline = AdmissionPipeline(configuration: configuration)
        let bytes = AdmissionDeciderTests.review(object: ReviewLimitsTests.pod(containers: containers, distinctImages: distinctImages))
        return (pipeline, try pipeline.prepare(bytes: bytes))
    }

    @Test func distinctImagesAreLookedUpConcurrentlyOnceEach() async throws {
        let (pipeline, prepared) = try prepared(containers: 6, distinctImages: 3)
        let images = FakeImages(expectedLookups: 3)
        let found = await pipeline.lookUp(prepared, images: images, deadline: Self.deadline)
        #expect(found == [
            "registry.example/app0:1": .found(.uid(2000)),
            "registry.example/app1:1": .found(.uid(2000)),
            "registry.example/app2:1": .found(.uid(2000)),
        ])
        let state = images.snapshot
        #expect(state.mostInFlight == 3)
        #expect(Array(state.calls.prefix(3)) == ["known registry.example/app0:1", "known registry.example/app1:1", "known registry.example/app2:1"])
        #expect(state.calls.dropFirst(3).sorted() == ["lookUp registry.example/app0:1", "lookUp registry.example/app1:1", "lookUp registry.example/app2:1"])
        #expect(state.deadlines == [Self.deadline, Self.deadline, Self.deadline])
        let decision = pipeline.decide(prepared, images: found)
        #expect(decision.outcome == .allowed)
        #expect(String(decoding: decision.responseJSON, as: UTF8.self) == #"{"uid":"705ab4f5-6393-11e8-b7cc-42010a800002","allowed":true}"#)
    }

    @Test func knownImagesAreNeverLookedUp() async throws {
        let (pipeline, prepared) = try prepared(containers: 3, distinctImages: 3)
        let images = FakeImages(catalog: ["registry.example/app1:1": .found(.uid(0))], expectedLookups: 2)
        let decision = await pipeline.decide(prepared, images: images, deadline: Self.deadline)
        let state = images.snapshot
        // The fast path asks each image once, finds one missing; lookUp asks again, then looks up the two.
        #expect(Array(state.calls.prefix(6)) == [
            "known registry.example/app0:1", "known registry.example/app1:1", "known registry.example/app2:1",
            "known registry.example/app0:1", "known registry.example/app1:1", "known registry.example/app2:1",
        ])
        #expect(state.calls.dropFirst(6).sorted() == ["lookUp registry.example/app0:1", "lookUp registry.example/app2:1"])
        #expect(state.mostInFlight == 2)
        #expect(decision.outcome == .denied)
        #expect(decision.response.status?.message == #"container has runAsNonRoot and image will run as root (pod: "web_shop(u1)", container: c1)"#)
    }

    @Test func everyImageKnownIsDecidedWithoutLookups() async throws {
        let (pipeline, prepared) = try prepared(containers: 2, distinctImages: 2)
        let catalog: [String: ImageUserLookup] = ["registry.example/app0:1": .found(.uid(1000)), "registry.example/app1:1": .found(.uid(1001))]
        let images = FakeImages(catalog: catalog, expectedLookups: 0)
        #expect(pipeline.decideIfKnown(prepared, images: images)?.outcome == .allowed)
        let decision = await pipeline.decide(prepared, images: images, deadline: Self.deadline)
        #expect(decision.outcome == .allowed)
        #expect(images.snapshot.calls == [
            "known registry.example/app0:1", "known registry.example/app1:1",
            "known registry.example/app0:1", "known registry.example/app1:1",
        ])
        let partial = FakeImages(catalog: ["registry.example/app0:1": .found(.uid(1000))], expectedLookups: 1)
        #expect(pipeline.decideIfKnown(prepared, images: partial) == nil)
        #expect(partial.snapshot.calls == ["known registry.example/app0:1", "known registry.example/app1:1"])
    }

    @Test func atMostTheDistinctImageBoundIsLookedUp() async throws {
        let limits = ReviewLimits(maximumContainers: 100, maximumImages: 2)
        let (pipeline, prepared) = try prepared(containers: 6, distinctImages: 3, DecisionConfiguration(unresolved: .deny, limits: limits))
        let images = FakeImages(expectedLookups: 2)
        let decision = await pipeline.decide(prepared, images: images, deadline: Self.deadline)
        let state = images.snapshot
        #expect(state.calls.filter { $0.hasPrefix("lookUp") }.sorted() == ["lookUp registry.example/app0:1", "lookUp registry.example/app1:1"])
        #expect(state.mostInFlight == 2)
        #expect(decision.outcome == .denied)
        #expect(decision.unresolved.map(\.container) == ["c2", "c5"])
        #expect(decision.sentences == [
            #"container has runAsNonRoot and the USER of image "registry.example/app2:1" cannot be determined (not looked up: the review names more than 2 distinct images, the most looked up per review) (pod: "web_shop(u1)", container: c2)"#,
            #"container has runAsNonRoot and the USER of image "registry.example/app2:1" cannot be determined (not looked up: the review names more than 2 distinct images, the most looked up per review) (pod: "web_shop(u1)", container: c5)"#,
        ])
    }

    @Test func anImageWithoutAnAnswerIsNotLookedUp() throws {
        let (pipeline, prepared) = try prepared(containers: 1, distinctImages: 1, DecisionConfiguration(unresolved: .deny))
        let decision = pipeline.decide(prepared, images: [:])
        #expect(decision.response.status?.message == #"container has runAsNonRoot and the USER of image "registry.example/app0:1" cannot be determined (not looked up) (pod: "web_shop(u1)", container: c0)"#)
    }
}
