import AdmissionCore
import ImageResolution
import Logging
import Synchronization

/// What every connection's handlers share: the decider, the catalog, limits, metrics, logs and records.
final class WebhookContext: Sendable {
    let decider: AdmissionDecider
    let catalog: ImageCatalog
    let limits: ServerLimits
    let metrics: ServerMetrics?
    let logger: Logger
    let recorder: ReviewRecorder?
    let readiness: Readiness

    init(decider: AdmissionDecider, catalog: ImageCatalog, limits: ServerLimits, metrics: ServerMetrics?, logger: Logger, recorder: ReviewRecorder?, readiness: Readiness) {
        self.decider = decider
        self.catalog = catalog
        self.limits = limits
        self.metrics = metrics
        self.logger = logger
        self.recorder = recorder
        self.readiness = readiness
    }
}

/// `/readyz`: ready once certificates are loaded and the listener is bound, not ready while draining.
public final class Readiness: Sendable {
    private let state = Atomic<Bool>(false)

    public init() {}

    public var isReady: Bool { state.load(ordering: .acquiring) }

    func set(_ ready: Bool) { state.store(ready, ordering: .releasing) }
}
