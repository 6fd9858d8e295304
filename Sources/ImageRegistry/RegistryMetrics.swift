import Metrics

/// The registry client's metrics, through swift-metrics (Prometheus names; a no-op until bootstrapped).
public struct RegistryMetrics: Sendable {
    /// The lookup latency histogram, for a backend that wants its buckets by name.
    public static let lookupDurationName = "nonroot_admission_registry_lookup_duration_seconds"

    private let found: Counter
    private let unresolved: Counter
    private let hits: [Counter]
    private let misses: [Counter]
    private let requests: [String: Counter]
    private let duration: Metrics.Timer
    private let inFlight: Meter
    private let stale: Counter
    private let fetches: Meter
    private let bytes: Meter
    private let refused: [String: Counter]

    /// The caches, in the order of `hits` and `misses`.
    enum Cache: Int, CaseIterable {
        case manifest, tag, config, failure

        var label: String {
            switch self {
            case .manifest: "manifest"
            case .tag: "tag"
            case .config: "config"
            case .failure: "failure"
            }
        }
    }

    static let requestKinds = ["manifest", "blob", "token"]
    static let statusClasses = ["2xx", "3xx", "4xx", "5xx", "error"]

    init() {
        found = Counter(label: "nonroot_admission_registry_lookups_total", dimensions: [("result", "found")])
        unresolved = Counter(label: "nonroot_admission_registry_lookups_total", dimensions: [("result", "unresolved")])
        hits = Cache.allCases.map { Counter(label: "nonroot_admission_registry_cache_total", dimensions: [("cache", $0.label), ("result", "hit")]) }
        misses = Cache.allCases.map { Counter(label: "nonroot_admission_registry_cache_total", dimensions: [("cache", $0.label), ("result", "miss")]) }
        var requests: [String: Counter] = [:]
        for kind in RegistryMetrics.requestKinds {
            for status in RegistryMetrics.statusClasses {
                requests[kind + status] = Counter(label: "nonroot_admission_registry_requests_total", dimensions: [("kind", kind), ("status", status)])
            }
        }
        self.requests = requests
        self.duration = Metrics.Timer(label: RegistryMetrics.lookupDurationName)
        self.inFlight = Meter(label: "nonroot_admission_registry_lookups_in_flight")
        self.inFlight.set(0)
        self.stale = Counter(label: "nonroot_admission_registry_stale_answers_total")
        self.fetches = Meter(label: "nonroot_admission_registry_fetches_in_flight")
        self.fetches.set(0)
        self.bytes = Meter(label: "nonroot_admission_registry_bytes_in_flight")
        self.bytes.set(0)
        var refused: [String: Counter] = [:]
        for limit in [RegistryLimit.fetches(0), .bytes(0)] {
            refused[limit.label] = Counter(label: "nonroot_admission_registry_limit_refusals_total", dimensions: [("limit", limit.label)])
        }
        self.refused = refused
    }

    /// Registry requests in flight now (`--registry-max-concurrent-fetches`).
    func fetchesInFlight(_ count: Int) { fetches.set(count) }

    /// Response bytes held now, parse tapes included (`--registry-max-bytes-in-flight`).
    func bytesInFlight(_ count: Int) { bytes.set(count) }

    /// A lookup gave up waiting for `limit`.
    func refusedByLimit(_ limit: RegistryLimit) { refused[limit.label]?.increment() }

    /// A tag could not be re-checked and its last answer was used.
    func staleAnswer() { stale.increment() }

    func lookup(found isFound: Bool, duration: Duration) {
        (isFound ? found : unresolved).increment()
        self.duration.recordNanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }

    func cache(_ cache: Cache, hit: Bool) {
        (hit ? hits : misses)[cache.rawValue].increment()
    }

    func request(kind: String, status: UInt?) {
        let statusClass = status.map { "\($0 / 100)xx" } ?? "error"
        requests[kind + statusClass]?.increment()
    }

    func flightStarted() { inFlight.increment() }
    func flightFinished() { inFlight.decrement() }
}
