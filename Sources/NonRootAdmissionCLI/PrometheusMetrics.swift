import Metrics
import Prometheus
import WebhookServer

/// swift-metrics with the Prometheus backend, bootstrapped once per process beside the logging
/// bootstrap; the server renders the registry on `/metrics`.
enum PrometheusMetrics {
    static func bootstrap(version: String) -> ServerMetrics {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets.merge(ServerMetrics.durationHistogramBuckets) { _, server in server }
        MetricsSystem.bootstrap(factory)
        return ServerMetrics(version: version) { registry.emitToBuffer() }
    }
}
