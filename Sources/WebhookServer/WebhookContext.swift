import AdmissionCore
import ImageRegistry
import ImageResolution
import Logging
import Synchronization

/// What every connection's handlers share: the decider, the catalog, limits, metrics, logs and records.
final class WebhookContext: Sendable {
    let decider: AdmissionDecider
    let images: ImageResolver
    let registryTimeout: Duration
    let limits: ServerLimits
    let metrics: ServerMetrics?
    let logger: Logger
    let recorder: ReviewRecorder?
    let readiness: Readiness
    let bodyBudget: ByteBudget

    init(decider: AdmissionDecider, images: ImageResolver, limits: ServerLimits, metrics: ServerMetrics?, logger: Logger, recorder: ReviewRecorder?, readiness: Readiness) {
        self.decider = decider
        self.images = images
        self.registryTimeout = images.registry?.configuration.timeout ?? .seconds(3)
        self.limits = limits
        self.metrics = metrics
        self.logger = logger
        self.recorder = recorder
        self.readiness = readiness
        self.bodyBudget = ByteBudget(limit: limits.maximumBufferedBytes)
    }

    /// Counts and logs a request refused before any decision (`path` when the head was read).
    func recordRefusal(_ refusal: HTTPErrorResponse, path: String?) {
        metrics?.recordRejection(code: Int(refusal.status.code))
        var metadata: Logger.Metadata = ["status": "\(refusal.status.code)", "reason": "\(refusal.message)"]
        if let path { metadata["path"] = "\(path)" }
        logger.notice("request refused", metadata: metadata)
    }
}

/// Bytes buffered by all requests together, so many large bodies at once cannot exhaust memory.
final class ByteBudget: Sendable {
    private let used = Atomic<Int>(0)
    let limit: Int

    init(limit: Int) { self.limit = limit }

    /// Takes `count` bytes from the budget, or returns false when that would pass the limit.
    func reserve(_ count: Int) -> Bool {
        let now = used.wrappingAdd(count, ordering: .relaxed).newValue
        if now > limit {
            used.wrappingSubtract(count, ordering: .relaxed)
            return false
        }
        return true
    }

    func release(_ count: Int) {
        if count > 0 { used.wrappingSubtract(count, ordering: .relaxed) }
    }
}

/// `/readyz`: ready once certificates are loaded and the listener is bound, not ready while draining.
public final class Readiness: Sendable {
    private let state = Atomic<Bool>(false)

    public init() {}

    public var isReady: Bool { state.load(ordering: .acquiring) }

    func set(_ ready: Bool) { state.store(ready, ordering: .releasing) }
}
