import AdmissionCore
import AdmissionModel
import ImageConfig
import ImageRegistry
import ImageResolution
import JSON
import NonRootPolicy

/// The server's side of `AdmissionPipeline`, without the network or the event loop: decode under the
/// request's budget, decide at once what is known offline, else look images up; encode. The request
/// handler runs `begin` on the event loop for ordinary reviews and on `WebhookContext.heavyWork` for
/// large ones, and `finish` in a task.
struct ReviewPipeline: Sendable {
    let admission: AdmissionPipeline
    let images: ImageLookup

    init(decider: AdmissionDecider, images: ImageLookup) {
        self.admission = AdmissionPipeline(decider: decider)
        self.images = images
    }

    /// The longest registry lookups may take, whatever the apiserver's timeout.
    var registryTimeout: Duration { images.registry?.configuration.timeout ?? RegistryConfiguration.defaultTimeout }

    /// A decided review, encoded once: the record takes `responseJSON` as is, the answer wraps it.
    struct Answer: Sendable {
        var decision: Decision
        var responseJSON: [UInt8]
        var body: [UInt8]
    }

    /// Where a review stands after `begin`.
    enum Stage: Sendable {
        case decided(Answer)
        /// Some images need the registry; `prepared` keeps the document (and its charge) alive until then.
        case lookups(PreparedReview)
        case refused(HTTPErrorResponse)
    }

    /// Decodes `bytes` with the parse tape charged to `budget`, then decides at once if no image needs the network.
    func begin(bytes: [UInt8], mode: EnforcementMode?, maximumBytes: Int, budget: RequestBudget) -> Stage {
        let prepared: PreparedReview
        do {
            prepared = try admission.prepare(bytes: bytes, limits: JSONLimits(maximumBytes: maximumBytes, budget: budget))
        } catch {
            if case .invalidJSON(let parse) = error, parse.exhaustedBudget {
                return .refused(HTTPErrorResponse(status: .serviceUnavailable, message: "server is busy: too many request bytes in flight; retry"))
            }
            return .refused(.badRequest("\(error)"))
        }
        // Catalog answers, cached registry answers and reviews that need no image are decided here, in one
        // evaluation and microseconds. The pod's pull secrets are not read on this path.
        if let decision = admission.decideIfKnown(prepared, mode: mode, images: ReviewImages(images: images, pullSecrets: nil)) {
            return .decided(Self.answer(decision))
        }
        return .lookups(prepared)
    }

    /// Looks up the images `prepared` needs (with the review's pull secrets, if read) by `deadline`, then decides.
    func finish(_ prepared: PreparedReview, mode: EnforcementMode?, pullSecrets: DockerKeyring?, deadline: ContinuousClock.Instant) async -> Answer {
        let found = await admission.lookUp(prepared, images: ReviewImages(images: images, pullSecrets: pullSecrets), deadline: deadline)
        return Self.answer(admission.decide(prepared, mode: mode, images: found))
    }

    /// Encodes a decision once: the record takes `responseJSON`, the answer wraps it.
    static func answer(_ decision: Decision) -> Answer {
        let responseJSON = decision.responseJSON
        return Answer(decision: decision, responseJSON: responseJSON, body: AdmissionResponse.review(apiVersion: decision.apiVersion, responseJSON: responseJSON))
    }
}

/// One review's images as the server finds them: the catalog, then cached registry answers, then the
/// registry, with the review's pull secrets tried before the node's credentials.
struct ReviewImages: ImageUserSource {
    let images: ImageLookup
    let pullSecrets: DockerKeyring?

    func known(_ image: String) -> ImageUserLookup? {
        images.knownOffline(image, pullSecrets: pullSecrets)
    }

    func lookUp(_ image: String, deadline: ContinuousClock.Instant) async -> ImageUserLookup {
        // Without a registry `known` answers every image; the catalog's answer stands.
        guard let registry = images.registry else { return images.catalog.lookup(image) }
        return await registry.lookup(image, pullSecrets: pullSecrets, deadline: deadline)
    }
}
