import Metrics

/// The registry client's metrics, through swift-metrics (Prometheus names; a no-op until bootstrapped).
public struct RegistryMetrics: Sendable {
    /// The lookup latency histogram, for a backend that wants its buckets by name.
    public static let lookupDurationName = "nonroot_admission_registry_lookup_duration_seconds"

    private let lookups: [String: Counter]
    private let cacheEvents: [String: Counter]
    private let requests: [String: Counter]
    private let duration: Metrics.Timer
    private let inFlight: Meter

    static let caches = ["manifest", "tag", "config", "failure"]
    static let requestKinds = ["manifest", "blob", "token"]
    static let statusClasses = ["2xx", "3xx", "4xx", "5xx", "error"]

    init() {
        var lookups: [String: Counter] = [:]
        for result in ["found", "unresolved"] {
            lookups[result] = Counter(label: "nonroot_admission_registry_lookups_total", dimensions: [("result", result)])
        }
        var cacheEvents: [String: Counter] = [:]
        for cache in RegistryMetrics.caches {
            for result in ["hit", "miss"] {
                cacheEvents[cache + result] = Counter(label: "nonroot_admission_registry_cache_total", dimensions: [("cache", cache), ("result", result)])
            }
        }
        var requests: [String: Counter] = [:]
        for kind in RegistryMetrics.requestKinds {
            for status in RegistryMetrics.statusClasses {
                requests[kind + status] = Counter(label: "nonroot_admission_registry_requests_total", dimensions: [("kind", kind), ("status", status)])
            }
        }
        self.lookups = lookups
        self.cacheEvents = cacheEvents
        self.requests = requests
        self.duration = Metrics.Timer(label: RegistryMetrics.lookupDurationName)
        self.inFlight = Meter(label: "nonroot_admission_registry_lookups_in_flight")
        self.inFlight.set(0)
    }

    func lookup(found: Bool, duration: Duration) {
        lookups[found ? "found" : "unresolved"]?.increment()
        self.duration.recordNanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }

    func cache(_ cache: String, hit: Bool) {
        cacheEvents[cache + (hit ? "hit" : "miss")]?.increment()
    }

    func request(kind: String, status: UInt?) {
        let statusClass = status.map { "\($0 / 100)xx" } ?? "error"
        requests[kind + statusClass]?.increment()
    }

    func flightStarted() { inFlight.increment() }
    func flightFinished() { inFlight.decrement() }
}
