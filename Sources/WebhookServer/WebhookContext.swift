import AdmissionCore
import AdmissionModel
import ImageRegistry
import ImageResolution
import JSON
import KubernetesAPI
import Logging
import ReviewRecording
import Synchronization

/// What every connection's handlers share: the review pipeline (decider and images), limits, metrics, logs and records.
final class WebhookContext: Sendable {
    let limits: ServerLimits
    let metrics: ServerMetrics?
    let logger: Logger
    let decisionLog: DecisionLog
    let recorder: ReviewRecorder?
    let readiness: Readiness
    let bodyBudget: ByteBudget
    let pipeline: ReviewPipeline
    /// Where large reviews are decided, so that a 7 MiB review never holds up the event loops that
    /// answer ordinary ones. One thread, at a lower priority than the loops.
    let heavyWork: HeavyWork
    /// Reads a review's pull secrets for its registry lookups, when `--pull-secrets` is on.
    let pullSecrets: PullSecrets?

    init(
        decider: AdmissionDecider, images: ImageLookup, limits: ServerLimits, metrics: ServerMetrics?, logger: Logger, recorder: ReviewRecorder?,
        readiness: Readiness, heavyWork: HeavyWork, bodyBudget: ByteBudget, pullSecrets: PullSecrets? = nil
    ) {
        self.pullSecrets = pullSecrets
        self.pipeline = ReviewPipeline(decider: decider, images: images)
        self.heavyWork = heavyWork
        self.limits = limits
        self.metrics = metrics
        self.logger = logger
        self.decisionLog = DecisionLog(logger: logger)
        self.recorder = recorder
        self.readiness = readiness
        self.bodyBudget = bodyBudget
    }

    /// Counts and logs a request refused before any decision (`path` when the head was read).
    func recordRefusal(_ refusal: HTTPErrorResponse, path: String?) {
        metrics?.recordRejection(code: Int(refusal.status.code))
        var metadata: Logger.Metadata = ["status": "\(refusal.status.code)", "reason": "\(refusal.message)"]
        if let path { metadata["path"] = "\(path)" }
        logger.notice("request refused", metadata: metadata)
    }
}

/// Memory held by all requests together: bodies, their parse tapes, and what lives until each
/// response is written. Large requests (over `ServerLimits.smallRequestBytes`) share only part of it,
/// so a flood of maximum-size bodies leaves room for ordinary reviews.
final class ByteBudget: Sendable {
    private let used = Atomic<Int>(0)
    private let usedByLarge = Atomic<Int>(0)
    let limit: Int
    /// What large requests may hold together.
    let largeLimit: Int

    /// `largeShare` of `limit` is open to large requests; the rest is kept for small ones.
    init(limit: Int, largeShare: Double = ByteBudget.defaultLargeShare) {
        self.limit = limit
        self.largeLimit = Int(Double(limit) * largeShare)
    }

    /// Three quarters: with the shipped 48 MiB, 36 MiB for big reviews and 12 MiB that ordinary
    /// ones (a few KiB each, plus their tapes) always find.
    static let defaultLargeShare = 0.75

    /// Takes `count` bytes for a request of the given class, or returns false when that would pass its limit.
    func reserve(_ count: Int, large: Bool) -> Bool {
        guard count > 0 else { return true }
        if large {
            guard usedByLarge.wrappingAdd(count, ordering: .relaxed).newValue <= largeLimit else {
                usedByLarge.wrappingSubtract(count, ordering: .relaxed)
                return false
            }
        }
        guard used.wrappingAdd(count, ordering: .relaxed).newValue <= limit else {
            used.wrappingSubtract(count, ordering: .relaxed)
            if large { usedByLarge.wrappingSubtract(count, ordering: .relaxed) }
            return false
        }
        return true
    }

    /// Moves `count` bytes already held by a small request to the large share, when it grows past the bound.
    func promote(_ count: Int) -> Bool {
        guard count > 0 else { return true }
        guard usedByLarge.wrappingAdd(count, ordering: .relaxed).newValue <= largeLimit else {
            usedByLarge.wrappingSubtract(count, ordering: .relaxed)
            return false
        }
        return true
    }

    func release(_ count: Int, large: Bool) {
        guard count > 0 else { return }
        used.wrappingSubtract(count, ordering: .relaxed)
        if large { usedByLarge.wrappingSubtract(count, ordering: .relaxed) }
    }

    /// Bytes held now, for tests and metrics.
    var inUse: Int { used.load(ordering: .relaxed) }
}

/// One request's view of the budget, handed to the JSON parser so its tape is charged in the same
/// class as the body.
struct RequestBudget: JSONMemoryBudget {
    let budget: ByteBudget
    let large: Bool

    func reserve(_ bytes: Int) -> Bool { budget.reserve(bytes, large: large) }
    func release(_ bytes: Int) { budget.release(bytes, large: large) }
}

/// `/readyz`: ready once certificates are loaded and the listener is bound, not ready while draining.
public final class Readiness: Sendable {
    private let state = Atomic<Bool>(false)

    public init() {}

    public var isReady: Bool { state.load(ordering: .acquiring) }

    func set(_ ready: Bool) { state.store(ready, ordering: .releasing) }
}
