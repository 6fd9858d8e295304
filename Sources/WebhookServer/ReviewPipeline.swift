import AdmissionCore
import AdmissionModel
import ImageConfig
import ImageRegistry
import ImageResolution
import JSON
import NonRootPolicy

/// The decision path of one review, without the network or the event loop: decode, resolve what is
/// known offline, decide, encode. The request handler runs it on the event loop for ordinary reviews
/// and on `WebhookContext.heavyWork` for large ones.
struct ReviewPipeline: Sendable {
    let decider: AdmissionDecider
    let images: ImageResolver

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
            prepared = try decider.prepare(bytes: bytes, limits: JSONLimits(maximumBytes: maximumBytes, budget: budget))
        } catch {
            if case .invalidJSON(let parse) = error, parse.exhaustedBudget {
                return .refused(HTTPErrorResponse(status: .serviceUnavailable, message: "server is busy: too many request bytes in flight; retry"))
            }
            return .refused(.badRequest("\(error)"))
        }
        // Catalog answers, cached registry answers and reviews that need no image are decided here, in one
        // evaluation and microseconds.
        let images = images
        if let decision = decider.decideIfKnown(prepared, mode: mode, known: { images.knownOffline($0) }) {
            return .decided(Self.answer(decision))
        }
        return .lookups(prepared)
    }

    /// Decides `prepared` once its images are known.
    func finish(_ prepared: PreparedReview, mode: EnforcementMode?, images: [String: ImageUserLookup]) -> Answer {
        Self.answer(decider.decide(prepared, mode: mode) { images[$0] ?? .unresolved(reason: "not looked up") })
    }

    /// Encodes a decision once: the record takes `responseJSON`, the answer wraps it.
    static func answer(_ decision: Decision) -> Answer {
        let responseJSON = decision.responseJSON
        return Answer(decision: decision, responseJSON: responseJSON, body: AdmissionResponse.review(apiVersion: decision.apiVersion, responseJSON: responseJSON))
    }
}
