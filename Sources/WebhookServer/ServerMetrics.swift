import AdmissionModel
import ImageRegistry
import Metrics
import NIOCore
import Synchronization

/// The server's metrics, through swift-metrics, named in the Prometheus convention. The process
/// bootstraps the backend (the command line's Prometheus registry); the server only records and,
/// on `/metrics`, renders what `exposition` gives.
public final class ServerMetrics: Sendable {
    private let render: @Sendable () -> [UInt8]
    private let counters = Mutex<[String: Metrics.Counter]>([:])
    private let openConnections: Metrics.Gauge
    private let pendingHandshakes: Metrics.Gauge
    private let requestDuration: Metrics.Timer
    private let requestCounters = Mutex<[RequestKey: Metrics.Counter]>([:])

    /// Labels of the requests counter; a struct key avoids building strings per request.
    private struct RequestKey: Hashable {
        var decision: String
        var mode: String
        var kind: String
        var operation: String
    }

    static let requestDurationName = "nonroot_admission_request_duration_seconds"

    /// Latency buckets fine enough for sub-millisecond answers.
    static let durationBuckets: [Duration] = [
        .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500),
        .milliseconds(1), .microseconds(2500), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .microseconds(2_500_000), .seconds(5), .seconds(10), .seconds(30),
    ]

    /// The buckets of the server's and the registry client's duration histograms, for the backend.
    public static var durationHistogramBuckets: [String: [Duration]] {
        [requestDurationName: durationBuckets, RegistryMetrics.lookupDurationName: durationBuckets]
    }

    /// Metrics for a process whose swift-metrics backend is already bootstrapped; `exposition`
    /// renders it for `/metrics`.
    public init(version: String, exposition: @escaping @Sendable () -> [UInt8]) {
        self.render = exposition
        self.openConnections = Metrics.Gauge(label: "nonroot_admission_open_connections")
        self.pendingHandshakes = Metrics.Gauge(label: "nonroot_admission_pending_handshakes")
        self.requestDuration = Metrics.Timer(label: Self.requestDurationName)
        Metrics.Gauge(label: "nonroot_admission_build_info", dimensions: [("version", version)]).record(1)
        // Create the counters users alert on, so they read 0 rather than missing.
        for result in ["success", "failure"] {
            for source in ["certificate", "client_ca"] {
                _ = counter("nonroot_admission_tls_reloads_total", [("source", source), ("result", result)])
            }
        }
        _ = counter("nonroot_admission_connections_rejected_total", [])
        _ = counter("nonroot_admission_metrics_connections_rejected_total", [])
        for stage in ["handshake", "idle"] {
            _ = counter("nonroot_admission_connections_evicted_total", [("stage", stage)])
        }
        _ = counter("nonroot_admission_metrics_connections_evicted_total", [])
        _ = counter("nonroot_admission_records_dropped_total", [])
    }

    private func counter(_ label: String, _ dimensions: [(String, String)]) -> Metrics.Counter {
        let key = label + dimensions.map { "|\($0.0)=\($0.1)" }.joined()
        return counters.withLock { cache in
            if let counter = cache[key] { return counter }
            let counter = Metrics.Counter(label: label, dimensions: dimensions)
            cache[key] = counter
            return counter
        }
    }

    /// One answered AdmissionReview.
    func recordReview(decision: String, mode: String, kind: String, operation: String, duration: Duration) {
        // Kind and operation come from the request body: bound them, or a client could create
        // unlimited series.
        let kind = PodSpecKind(rawValue: kind) != nil ? kind : "other"
        let operation = ["CREATE", "UPDATE", "DELETE", "CONNECT"].contains(operation) ? operation : "other"
        let key = RequestKey(decision: decision, mode: mode, kind: kind, operation: operation)
        let counter = requestCounters.withLock { cache in
            if let counter = cache[key] { return counter }
            let counter = Metrics.Counter(label: "nonroot_admission_requests_total", dimensions: [
                ("decision", key.decision), ("mode", key.mode), ("kind", key.kind), ("operation", key.operation),
            ])
            cache[key] = counter
            return counter
        }
        counter.increment()
        requestDuration.recordNanoseconds(TimeAmount(duration).nanoseconds)
    }

    /// One request refused before a decision: 400, 404, 405, 408, 413, 415.
    func recordRejection(code: Int) {
        counter("nonroot_admission_http_rejections_total", [("code", String(code))]).increment()
    }

    func recordTLSReload(source: String, success: Bool) {
        counter("nonroot_admission_tls_reloads_total", [("source", source), ("result", success ? "success" : "failure")]).increment()
    }

    func recordRejectedConnection() {
        counter("nonroot_admission_connections_rejected_total", []).increment()
    }

    func recordOpenConnections(_ count: Int) {
        openConnections.record(count)
    }

    /// The webhook listener's connection events, for `ConnectionAdmission`.
    var webhookConnectionEvents: ConnectionEvents {
        ConnectionEvents(
            refused: { self.recordRejectedConnection() },
            evicted: { stage in self.counter("nonroot_admission_connections_evicted_total", [("stage", stage)]).increment() })
    }

    func recordPendingHandshakes(_ count: Int) {
        pendingHandshakes.record(count)
    }

    /// The metrics listener's connection events.
    var operationsConnectionEvents: ConnectionEvents {
        ConnectionEvents(
            refused: { self.counter("nonroot_admission_metrics_connections_rejected_total", []).increment() },
            evicted: { _ in self.counter("nonroot_admission_metrics_connections_evicted_total", []).increment() })
    }

    private let reportedDroppedRecords = Mutex<Int>(0)

    /// Brings the dropped-records counter up to the recorder's running total.
    func updateDroppedRecords(total: Int) {
        let delta = reportedDroppedRecords.withLock { reported -> Int in
            defer { reported = max(reported, total) }
            return total - reported
        }
        if delta > 0 { counter("nonroot_admission_records_dropped_total", []).increment(by: delta) }
    }

    /// The Prometheus text exposition.
    public func exposition() -> [UInt8] {
        render()
    }
}
