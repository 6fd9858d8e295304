import AdmissionCore
import ImageRegistry
import KubernetesAPI
public import Logging
import NIOCertificateReloading
import NIOCore
import NIOExtras
import NIOPosix
import ReviewRecording
import ServiceLifecycle
import Synchronization

/// The `serve` command's server: binds both listeners, serves until SIGTERM or SIGINT, then drains.
///
/// Drain order: `/readyz` turns 503 at once; the server keeps serving for `shutdown.delay` so that
/// endpoints drop the pod; then it stops accepting, lets every in-flight request finish (HTTP/1.1
/// connections close after their response, HTTP/2 ones get GOAWAY), flushes the records, and returns.
public enum AdmissionWebhook {
    /// Runs until a shutdown signal; returns normally after a complete drain.
    public static func run(_ configuration: ServerConfiguration, metrics: ServerMetrics, logger: Logger) async throws {
        MemoryTuning.apply()
        let tls = try TLSContextProvider(files: configuration.tls, refreshInterval: configuration.certificateRefreshInterval, logger: logger, metrics: metrics)
        // Queued records are charged to the request budget (its large share), so --max-buffered-bytes
        // bounds them too; past it a record is dropped and counted, never waited for.
        let budget = ByteBudget(limit: configuration.limits.maximumBufferedBytes)
        let recorder = try configuration.recording.directory.map { directory in
            try ReviewRecorder(
                directory: directory,
                limits: configuration.recording.limits,
                budget: RecorderBudget(reserve: { budget.reserve($0, large: true) }, release: { budget.release($0, large: true) }),
                logger: logger)
        }
        let readiness = Readiness()
        // The process bootstraps metrics before this, so the registry client's metrics are registered.
        let registry = try configuration.registry.map { registryConfiguration throws(RegistrySetupError) in
            try RegistryLookup(configuration: registryConfiguration)
        }
        let heavyWork = HeavyWork()
        // Pull secrets are read with the webhook's own token, by name, for reviews that need a lookup.
        let kubernetes = try configuration.kubernetesAPI.map { cluster throws(KubernetesAPIError) in
            var settings = KubernetesClientConfiguration(cluster: cluster)
            // Inside a lookup's deadline (at most --registry-timeout), which the registry needs most of.
            settings.timeout = .seconds(1)
            return try KubernetesClient(configuration: settings, logger: logger)
        }
        let context = WebhookContext(
            decider: AdmissionDecider(configuration: configuration.decision), images: ImageLookup(catalog: configuration.catalog, registry: registry),
            limits: configuration.limits, metrics: metrics, logger: logger, recorder: recorder, readiness: readiness, heavyWork: heavyWork,
            bodyBudget: budget, pullSecrets: kubernetes.map { PullSecrets(reader: $0) })
        let threads = configuration.threads > 0 ? configuration.threads : System.coreCount
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let service = ListenerService(configuration: configuration, group: group, tls: tls, context: context, logger: logger)

        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: CertificateReloaderService(reloader: tls.reloader))]
        if let recorder { services.append(.init(service: RecorderService(recorder: recorder, metrics: metrics))) }
        // Shut down in reverse order: the listeners drain first, then records are flushed.
        services.append(.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup))
        let serviceGroup = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger))
        do {
            try await serviceGroup.run()
        } catch {
            await registry?.shutdown()
            await heavyWork.shutdown()
            await kubernetes?.shutdown()
            try? await group.shutdownGracefully()
            throw error
        }
        await registry?.shutdown()
        await heavyWork.shutdown()
        await kubernetes?.shutdown()
        try await group.shutdownGracefully()
        logger.notice("stopped")
    }
}

/// Binds the listeners and drains them on graceful shutdown.
struct ListenerService: Service, CustomStringConvertible {
    var description: String { "listeners" }
    let configuration: ServerConfiguration
    let group: MultiThreadedEventLoopGroup
    let tls: TLSContextProvider
    let context: WebhookContext
    let logger: Logger

    func run() async throws {
        let quiescing = ServerQuiescingHelper(group: group)
        let recorder = context.recorder
        let metrics = context.metrics
        let connections = ConnectionCounter(limit: configuration.limits.maximumConnections) { metrics?.recordOpenConnections($0) }
        let operations = try await OperationsListener(
            group: group, address: configuration.metricsListen, metrics: metrics, readiness: context.readiness, limits: configuration.limits,
            beforeScrape: { if let recorder { metrics?.updateDroppedRecords(total: recorder.droppedCount) } }
        ).bind()
        let webhook = try await WebhookListener(
            group: group, address: configuration.listen, tls: tls, context: context, quiescing: quiescing,
            connections: connections, drainGrace: configuration.shutdown.gracePeriod
        ).bind()
        context.readiness.set(true)
        logger.notice("serving", metadata: [
            "listen": "\(webhook.localAddress.map { "\($0)" } ?? "\(configuration.listen)")",
            "metricsListen": "\(operations.localAddress.map { "\($0)" } ?? "\(configuration.metricsListen)")",
            "policy": "\(configuration.decision.policy.rawValue)", "mode": "\(configuration.decision.mode.rawValue)",
            "unresolved": "\(configuration.decision.unresolved.rawValue)", "catalogImages": "\(configuration.catalog.count)",
            "registryLookups": "\(configuration.registry != nil)",
            "mTLS": "\(configuration.tls.clientCA != nil)",
        ])

        // Park until SIGTERM/SIGINT; errors here mean cancellation, which still drains.
        try? await gracefulShutdown()
        let started = ContinuousClock.now
        context.readiness.set(false)
        logger.notice("shutdown: not ready; still serving for the shutdown delay", metadata: ["delay": "\(configuration.shutdown.delay)"])
        try? await Task.sleep(for: configuration.shutdown.delay)

        logger.notice("shutdown: no longer accepting; finishing in-flight requests", metadata: ["openConnections": "\(connections.count)"])
        let drained = group.next().makePromise(of: Void.self)
        quiescing.initiateShutdown(promise: drained)
        let remaining = configuration.shutdown.gracePeriod - (ContinuousClock.now - started)
        // Whichever comes first: every connection closed, or the grace period over.
        let finished = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let once = ResumeOnce(continuation)
            drained.futureResult.whenComplete { _ in once.resume(true) }
            group.next().scheduleTask(in: TimeAmount(max(remaining, .zero))) { once.resume(false) }
        }
        if finished {
            logger.notice("shutdown: all requests answered", metadata: ["after": "\(ContinuousClock.now - started)"])
        } else {
            logger.error("shutdown: grace period over with connections still open; closing them", metadata: ["openConnections": "\(connections.count)"])
            let closing = connections.closeAll(on: group.next())
            try? await webhook.close()
            // Let the closes finish before the event loops go away.
            _ = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let once = ResumeOnce(continuation)
                closing.whenComplete { _ in once.resume(true) }
                group.next().scheduleTask(in: .seconds(2)) { once.resume(false) }
            }
        }
        try? await operations.close()
    }
}

/// Resumes a continuation once, from whichever callback gets there first.
final class ResumeOnce: Sendable {
    private let continuation: Mutex<CheckedContinuation<Bool, Never>?>

    init(_ continuation: CheckedContinuation<Bool, Never>) {
        self.continuation = Mutex(continuation)
    }

    func resume(_ value: Bool) {
        let pending = continuation.withLock { stored -> CheckedContinuation<Bool, Never>? in
            defer { stored = nil }
            return stored
        }
        pending?.resume(returning: value)
    }
}

/// Runs swift-nio-extras' certificate reloader until shutdown.
struct CertificateReloaderService: Service, CustomStringConvertible {
    var description: String { "certificate-reloader" }
    let reloader: TimedCertificateReloader

    func run() async throws {
        try await reloader.run()
    }
}

/// Runs the review recorder's writer and flushes it on shutdown.
struct RecorderService: Service, CustomStringConvertible {
    var description: String { "recorder" }
    let recorder: ReviewRecorder
    let metrics: ServerMetrics?

    func run() async throws {
        await withGracefulShutdownHandler {
            await recorder.run()
        } onGracefulShutdown: {
            recorder.finish()
        }
        metrics?.updateDroppedRecords(total: recorder.droppedCount)
    }
}
