public import AdmissionCore
public import ImageRegistry
public import ImageResolution
public import KubernetesAPI
public import ReviewRecording

/// A `HOST:PORT` to listen on.
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT`, `:PORT` (all interfaces) or `[IPv6]:PORT`.
    public init?(parsing text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            return nil
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.host = host.isEmpty ? "0.0.0.0" : host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// Files that hold the serving certificate, its key and, for mTLS, the client CA. All PEM.
public struct TLSFiles: Sendable, Equatable {
    public var certificate: String
    public var privateKey: String
    public var clientCA: String?
    /// With a client CA: the subject common names or DNS SANs a client certificate must carry (one is
    /// enough, compared exactly). Empty: any certificate the CA signed.
    public var clientAllowedNames: Set<String>

    public init(certificate: String, privateKey: String, clientCA: String? = nil, clientAllowedNames: Set<String> = []) {
        self.certificate = certificate
        self.privateKey = privateKey
        self.clientCA = clientCA
        self.clientAllowedNames = clientAllowedNames
    }
}

/// Bounds on what one client can make the server hold or wait for.
public struct ServerLimits: Sendable {
    /// The largest review the apiserver can send: an UPDATE carries the object (up to its 3 MiB request
    /// limit) and the stored old object (etcd's 1.5 MiB, re-encoded as JSON: up to 3 MiB), plus the
    /// envelope (userInfo, options): 2 × 3 MiB + 1 MiB.
    public static let defaultMaximumBodyBytes = 7 << 20
    public static let defaultMaximumBufferedBytes = 128 << 20
    /// Bodies up to this size are ordinary reviews (a pod is a few KiB): decided on the event loop and
    /// always left a share of the byte budget. Larger ones are decided on a separate thread.
    public static let defaultSmallRequestBytes = 64 << 10

    /// Largest request body; larger ones get 413 without being read whole.
    public var maximumBodyBytes: Int
    /// Memory held for requests across all connections and streams, until each response is written:
    /// bodies and their parse tapes. Past it new requests get 503.
    public var maximumBufferedBytes: Int
    /// See `defaultSmallRequestBytes`.
    public var smallRequestBytes: Int
    /// Established (post-handshake) connections. When full, a new one takes the slot of the longest-idle
    /// connection with no request in flight; it is refused only when every one has a request in flight.
    public var maximumConnections: Int
    /// A connection with no traffic for this long is closed (the apiserver reconnects as needed).
    public var idleTimeout: Duration
    /// From the first byte of a request (or its headers, on HTTP/2) to its last; slower clients get 408 and are closed.
    public var requestTimeout: Duration
    /// Time allowed for the TLS handshake.
    public var handshakeTimeout: Duration
    /// Connections still in their TLS handshake; past it the oldest pending one is closed.
    public var maximumPendingHandshakes: Int
    /// Pending handshakes from one source address; past it that source's oldest is closed.
    public var maximumPendingHandshakesPerSource: Int
    /// From the end of the handshake to the first request; a connection that sends nothing is closed.
    public var firstRequestTimeout: Duration
    /// Open connections on the metrics listener, counted and evicted like `maximumConnections`.
    public var metricsMaximumConnections: Int
    /// The metrics listener's idle timeout.
    public var metricsIdleTimeout: Duration
    /// The metrics listener's request timeout (first byte to response).
    public var metricsRequestTimeout: Duration

    /// Every limit at its default: the one place the defaults of the newer flags are read from.
    public static let standard = ServerLimits()

    public init(
        maximumBodyBytes: Int = ServerLimits.defaultMaximumBodyBytes, maximumBufferedBytes: Int = ServerLimits.defaultMaximumBufferedBytes,
        smallRequestBytes: Int = ServerLimits.defaultSmallRequestBytes, maximumConnections: Int = 1024, idleTimeout: Duration = .seconds(120),
        requestTimeout: Duration = .seconds(10), handshakeTimeout: Duration = .seconds(10),
        maximumPendingHandshakes: Int = 256, maximumPendingHandshakesPerSource: Int = 64, firstRequestTimeout: Duration = .seconds(5),
        metricsMaximumConnections: Int = 64, metricsIdleTimeout: Duration = .seconds(30), metricsRequestTimeout: Duration = .seconds(5)
    ) {
        self.maximumBodyBytes = maximumBodyBytes
        self.maximumBufferedBytes = maximumBufferedBytes
        self.smallRequestBytes = smallRequestBytes
        self.maximumConnections = maximumConnections
        self.idleTimeout = idleTimeout
        self.requestTimeout = requestTimeout
        self.handshakeTimeout = handshakeTimeout
        self.maximumPendingHandshakes = maximumPendingHandshakes
        self.maximumPendingHandshakesPerSource = maximumPendingHandshakesPerSource
        self.firstRequestTimeout = firstRequestTimeout
        self.metricsMaximumConnections = metricsMaximumConnections
        self.metricsIdleTimeout = metricsIdleTimeout
        self.metricsRequestTimeout = metricsRequestTimeout
    }
}

/// Everything `serve` needs, grouped as the flags are: listeners, TLS, decisions and images, limits,
/// recording, shutdown.
public struct ServerConfiguration: Sendable {
    public var listen: ListenAddress
    public var metricsListen: ListenAddress
    public var tls: TLSFiles
    /// How often the certificate, key and client CA files are checked for changes.
    public var certificateRefreshInterval: Duration
    public var decision: DecisionConfiguration
    public var catalog: ImageCatalog
    /// Registry lookups for images not in the catalog, or nil for the catalog alone.
    public var registry: RegistryConfiguration?
    public var limits: ServerLimits
    public var recording: Recording
    public var shutdown: Shutdown
    /// Event loop threads; 0 means one per core.
    public var threads: Int
    /// Read each review's pull secrets from this API server for its registry lookups (`--pull-secrets`), or nil.
    public var kubernetesAPI: InClusterConfiguration?

    public static let defaultListen = ListenAddress(host: "0.0.0.0", port: 8443)
    public static let defaultMetricsListen = ListenAddress(host: "0.0.0.0", port: 8080)
    public static let defaultCertificateRefreshInterval: Duration = .seconds(10)
    /// Event loop threads: 0, one per core.
    public static let defaultThreads = 0

    /// Where reviews and their responses are recorded (`--record-dir`), and how many are kept.
    public struct Recording: Sendable {
        /// The directory, or nil for no recording.
        public var directory: String?
        public var limits: RecorderLimits

        public init(directory: String? = nil, limits: RecorderLimits = .init()) {
            self.directory = directory
            self.limits = limits
        }
    }

    /// What happens after SIGTERM.
    public struct Shutdown: Sendable {
        /// How long to stay up, not ready, so endpoints drop the pod before it stops accepting.
        public var delay: Duration
        /// The most time allowed for the delay plus in-flight requests before exiting anyway.
        public var gracePeriod: Duration

        public static let defaultDelay: Duration = .seconds(5)
        /// Within the pod's default terminationGracePeriodSeconds of 30.
        public static let defaultGracePeriod: Duration = .seconds(25)

        public init(delay: Duration = Shutdown.defaultDelay, gracePeriod: Duration = Shutdown.defaultGracePeriod) {
            self.delay = delay
            self.gracePeriod = gracePeriod
        }
    }

    public init(
        listen: ListenAddress = ServerConfiguration.defaultListen,
        metricsListen: ListenAddress = ServerConfiguration.defaultMetricsListen,
        tls: TLSFiles,
        certificateRefreshInterval: Duration = ServerConfiguration.defaultCertificateRefreshInterval,
        decision: DecisionConfiguration = .init(),
        catalog: ImageCatalog = .init(),
        registry: RegistryConfiguration? = nil,
        limits: ServerLimits = .init(),
        recording: Recording = .init(),
        shutdown: Shutdown = .init(),
        threads: Int = ServerConfiguration.defaultThreads,
        kubernetesAPI: InClusterConfiguration? = nil
    ) {
        self.kubernetesAPI = kubernetesAPI
        self.listen = listen
        self.metricsListen = metricsListen
        self.tls = tls
        self.certificateRefreshInterval = certificateRefreshInterval
        self.decision = decision
        self.catalog = catalog
        self.registry = registry
        self.limits = limits
        self.recording = recording
        self.shutdown = shutdown
        self.threads = threads
    }
}
