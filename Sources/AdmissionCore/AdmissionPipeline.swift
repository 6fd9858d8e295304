public import AdmissionModel
public import ImageConfig
public import JSON
import NonRootPolicy

/// Where the pipeline learns image USERs: first what is at hand (a catalog entry, a cached answer),
/// then lookups that may wait (a registry). AdmissionCore never imports the network: the server and
/// the CLI each adapt their `ImageLookup` to this.
public protocol ImageUserSource: Sendable {
    /// What is known of `image` without waiting, or nil when only `lookUp` can tell.
    func known(_ image: String) -> ImageUserLookup?
    /// Looks `image` up by `deadline`. Asked only for images `known` left nil.
    func lookUp(_ image: String, deadline: ContinuousClock.Instant) async -> ImageUserLookup
}

/// One review's path, shared by the server and `replay`/`check`: `prepare` (decode and select, cheap and
/// synchronous), `lookUp` (the images that need waiting for, concurrently), `decide`.
///
/// `decideIfKnown` is the server's fast path: when every image is at hand, the review is decided in one
/// evaluation, without a task or a suspension.
public struct AdmissionPipeline: Sendable {
    public let decider: AdmissionDecider

    public init(decider: AdmissionDecider) {
        self.decider = decider
    }

    public init(configuration: DecisionConfiguration) {
        self.init(decider: AdmissionDecider(configuration: configuration))
    }

    /// The reason given to an image the decision asks for but no lookup answered.
    static let notLookedUp = "not looked up"

    /// Decodes review bytes and finds the containers and images to evaluate.
    public func prepare(bytes: [UInt8], limits: JSONLimits = .init()) throws(AdmissionDecodingError) -> PreparedReview {
        try decider.prepare(bytes: bytes, limits: limits)
    }

    /// The decision when every image `prepared` needs is known at once, else nil.
    public func decideIfKnown(_ prepared: PreparedReview, mode: EnforcementMode? = nil, images: some ImageUserSource) -> Decision? {
        decider.decideIfKnown(prepared, mode: mode) { images.known($0) }
    }

    /// Answers for the images `prepared` needs: those known at once, then the rest from `lookUp`, all
    /// concurrently, by `deadline`. `imagesNeeded` holds at most `ReviewLimits.maximumImages` distinct
    /// images, so one review starts at most that many lookups.
    public func lookUp(_ prepared: PreparedReview, images: some ImageUserSource, deadline: ContinuousClock.Instant) async -> [String: ImageUserLookup] {
        let needed = prepared.imagesNeeded
        var found: [String: ImageUserLookup] = [:]
        found.reserveCapacity(needed.count)
        var remote: [String] = []
        for image in needed {
            if let lookup = images.known(image) { found[image] = lookup } else { remote.append(image) }
        }
        if remote.count == 1 {
            found[remote[0]] = await images.lookUp(remote[0], deadline: deadline)
            return found
        }
        await withTaskGroup(of: (String, ImageUserLookup).self) { group in
            for image in remote {
                group.addTask { (image, await images.lookUp(image, deadline: deadline)) }
            }
            for await (image, lookup) in group { found[image] = lookup }
        }
        return found
    }

    /// Decides `prepared` with the answers `lookUp` gave.
    public func decide(_ prepared: PreparedReview, mode: EnforcementMode? = nil, images: [String: ImageUserLookup]) -> Decision {
        decider.decide(prepared, mode: mode) { images[$0] ?? .unresolved(reason: AdmissionPipeline.notLookedUp) }
    }

    /// The whole path for a prepared review: at once when every image is known, else after `lookUp`.
    public func decide(_ prepared: PreparedReview, mode: EnforcementMode? = nil, images: some ImageUserSource, deadline: ContinuousClock.Instant) async -> Decision {
        if let decision = decideIfKnown(prepared, mode: mode, images: images) { return decision }
        return decide(prepared, mode: mode, images: await lookUp(prepared, images: images, deadline: deadline))
    }
}
