import AdmissionCore
import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import ImageRegistry
import KubernetesAPI
import Logging
import NonRootPolicy
import ReviewRecording
import WebhookServer

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the validating admission webhook over TLS (HTTP/1.1 and HTTP/2).",
        discussion: """
            POST /validate answers in --mode; /validate/enforce and /validate/dry-run force a mode. \
            Metrics, /healthz and /readyz are served over plain HTTP on --metrics-listen. \
            Every option can also be set with an environment variable: NONROOT_ADMISSION_ and the option \
            name in upper case with underscores, e.g. NONROOT_ADMISSION_TLS_CERT_FILE. A command-line flag wins.
            """
    )

    @Option(name: .long, help: ArgumentHelp("Serving certificate chain (PEM). Reloaded when the file changes.", valueName: "file"))
    var tlsCertFile: String

    @Option(name: .long, help: ArgumentHelp("Private key of the serving certificate (PEM).", valueName: "file"))
    var tlsKeyFile: String

    @Option(name: .long, help: ArgumentHelp("Require client certificates signed by this CA (PEM). Reloaded when the file changes.", valueName: "file"))
    var clientCaFile: String?

    @Option(name: .long, help: ArgumentHelp(
        "With --client-ca-file: accept only client certificates whose subject common name or a DNS SAN is one of these (comma-separated, exact). Others are closed after the handshake, logged and counted in nonroot_admission_client_certificates_refused_total.",
        valueName: "names"))
    var clientAllowedNames: String?

    /// The names of --client-allowed-names, empty when not given.
    var allowedClientNames: Set<String> {
        Set((clientAllowedNames ?? "").split(separator: ",").compactMap { name in
            let trimmed = name.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed()
            return trimmed.isEmpty ? nil : String(trimmed)
        })
    }

    @Option(name: .long, help: ArgumentHelp("TLS listen address.", valueName: "host:port"))
    var listen: String = ServerConfiguration.defaultListen.description

    @Option(name: .long, help: ArgumentHelp("Plain-HTTP address for /metrics, /healthz and /readyz.", valueName: "host:port"))
    var metricsListen: String = ServerConfiguration.defaultMetricsListen.description

    @OptionGroup var decision: DecisionOptions

    @OptionGroup(title: "Registry lookups") var registry: RegistryOptions

    @Option(name: .long, help: ArgumentHelp("Record each review with its response here, as JSON files replay reads.", valueName: "dir"))
    var recordDir: String?

    @Option(name: .long, help: "Most record files kept; the oldest go first.")
    var recordMaxFiles: Int = RecorderLimits.defaultMaximumFiles

    @Option(name: .long, help: "Most bytes of record files kept; the oldest go first.")
    var recordMaxBytes: Int = RecorderLimits.defaultMaximumBytes

    @Option(name: .long, help: "Largest request body in bytes; larger ones get 413. The default, 7 MiB, is the largest review the apiserver sends: an UPDATE with a 3 MiB object, its stored old object and the envelope.")
    var maxBodyBytes: Int = ServerLimits.defaultMaximumBodyBytes

    @Option(name: .long, help: "Memory held for requests across all connections until each is answered: bodies and their parse tapes (12 bytes per JSON value). Past it requests get 503; a quarter is kept for reviews under 64 KiB.")
    var maxBufferedBytes: Int = ServerLimits.defaultMaximumBufferedBytes

    @Option(name: .long, help: "Most established (post-handshake) connections; when full, the longest-idle one is closed to make room, and a new one is refused only if all are busy.")
    var maxConnections: Int = ServerLimits.standard.maximumConnections

    @Option(name: .long, help: "Most connections still in their TLS handshake; past it the oldest is closed.")
    var maxPendingHandshakes: Int = ServerLimits.standard.maximumPendingHandshakes

    @Option(name: .long, help: "Most pending TLS handshakes from one source address; past it that source's oldest is closed.")
    var maxPendingHandshakesPerSource: Int = ServerLimits.standard.maximumPendingHandshakesPerSource

    @Option(name: .long, help: ArgumentHelp("Close a connection whose TLS handshake takes longer.", valueName: "duration"))
    var handshakeTimeout: DurationArgument = .init(ServerLimits.standard.handshakeTimeout)

    @Option(name: .long, help: ArgumentHelp("Close a connection that sends no request this long after its handshake.", valueName: "duration"))
    var firstRequestTimeout: DurationArgument = .init(ServerLimits.standard.firstRequestTimeout)

    @Option(name: .long, help: "Most open connections on --metrics-listen; when full, the longest-idle one is closed to make room.")
    var metricsMaxConnections: Int = ServerLimits.standard.metricsMaximumConnections

    @Option(name: .long, help: ArgumentHelp("Close --metrics-listen connections idle this long.", valueName: "duration"))
    var metricsIdleTimeout: DurationArgument = .init(ServerLimits.standard.metricsIdleTimeout)

    @Option(name: .long, help: ArgumentHelp("Most time to receive one request on --metrics-listen; slower clients are closed.", valueName: "duration"))
    var metricsRequestTimeout: DurationArgument = .init(ServerLimits.standard.metricsRequestTimeout)

    @Option(name: .long, help: ArgumentHelp("Close connections idle this long (e.g. 120s).", valueName: "duration"))
    var idleTimeout: DurationArgument = .init(ServerLimits.standard.idleTimeout)

    @Option(name: .long, help: ArgumentHelp("Most time to receive one request; slower clients get 408 and are closed.", valueName: "duration"))
    var requestTimeout: DurationArgument = .init(ServerLimits.standard.requestTimeout)

    @Option(name: .long, help: ArgumentHelp("How often the certificate, key and client CA files are checked.", valueName: "duration"))
    var certRefreshInterval: DurationArgument = .init(ServerConfiguration.defaultCertificateRefreshInterval)

    @Option(name: .long, help: ArgumentHelp("After SIGTERM, keep serving this long while not ready.", valueName: "duration"))
    var shutdownDelay: DurationArgument = .init(ServerConfiguration.Shutdown.defaultDelay)

    @Option(name: .long, help: ArgumentHelp("After SIGTERM, exit by this time even if requests are still open.", valueName: "duration"))
    var shutdownGracePeriod: DurationArgument = .init(ServerConfiguration.Shutdown.defaultGracePeriod)

    @Flag(name: .long, help: ArgumentHelp(
        "With --registry: look images up with each review's pull secrets (the pod's imagePullSecrets, or a template's ServiceAccount's), read by name from the API server with the pod's own service-account token (in-cluster configuration). Needs get on secrets and serviceaccounts: deploy/components/pull-secrets."))
    var pullSecrets = false

    @Option(name: .long, help: ArgumentHelp("Service-account token for --pull-secrets, re-read as it rotates.", valueName: "file"))
    var kubernetesTokenFile: String = InClusterConfiguration.defaultTokenPath

    @Option(name: .long, help: ArgumentHelp("The cluster CA for --pull-secrets: the only root trusted for the API server.", valueName: "file"))
    var kubernetesCaFile: String = InClusterConfiguration.defaultCAPath

    @Option(name: .long, help: "Event loop threads; 0 means one per core.")
    var threads: Int = ServerConfiguration.defaultThreads

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard ListenAddress(parsing: listen) != nil else { throw ValidationError("--listen must be HOST:PORT, got \(listen)") }
        guard ListenAddress(parsing: metricsListen) != nil else { throw ValidationError("--metrics-listen must be HOST:PORT, got \(metricsListen)") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical") }
        guard maxBodyBytes > 0, maxBufferedBytes >= maxBodyBytes, maxConnections > 0, recordMaxFiles > 0, recordMaxBytes > 0,
              maxPendingHandshakes > 0, maxPendingHandshakesPerSource > 0, metricsMaxConnections > 0 else {
            throw ValidationError("limits must be positive, and --max-buffered-bytes at least --max-body-bytes")
        }
        if let clientAllowedNames {
            guard clientCaFile != nil else { throw ValidationError("--client-allowed-names needs --client-ca-file") }
            guard !allowedClientNames.isEmpty else { throw ValidationError("--client-allowed-names is empty: \"\(clientAllowedNames)\"") }
        }
        guard !pullSecrets || registry.registry else {
            throw ValidationError("--pull-secrets needs --registry: pull secrets are used only for registry lookups")
        }
        guard !registry.registry || registry.registryTimeout.duration < requestTimeout.duration else {
            throw ValidationError("--registry-timeout must be shorter than --request-timeout")
        }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level) }
        // Lines are written off the event loop, in batches: the last ones must be out before the process exits.
        defer { JSONLogOutput.standardError.flush() }
        let metrics = PrometheusMetrics.bootstrap(version: NonRootAdmission.version)
        let logger = Logger(label: "nonroot-admission")
        let catalog = try decision.loadCatalog()
        guard let listenAddress = ListenAddress(parsing: listen), let metricsAddress = ListenAddress(parsing: metricsListen) else {
            throw ValidationError("invalid listen address")
        }
        let configuration = ServerConfiguration(
            listen: listenAddress,
            metricsListen: metricsAddress,
            tls: TLSFiles(certificate: tlsCertFile, privateKey: tlsKeyFile, clientCA: clientCaFile, clientAllowedNames: allowedClientNames),
            certificateRefreshInterval: certRefreshInterval.duration,
            decision: decision.configuration,
            catalog: catalog,
            registry: try registry.configuration(),
            limits: ServerLimits(
                maximumBodyBytes: maxBodyBytes, maximumBufferedBytes: maxBufferedBytes, maximumConnections: maxConnections,
                idleTimeout: idleTimeout.duration, requestTimeout: requestTimeout.duration, handshakeTimeout: handshakeTimeout.duration,
                maximumPendingHandshakes: maxPendingHandshakes, maximumPendingHandshakesPerSource: maxPendingHandshakesPerSource,
                firstRequestTimeout: firstRequestTimeout.duration, metricsMaximumConnections: metricsMaxConnections,
                metricsIdleTimeout: metricsIdleTimeout.duration, metricsRequestTimeout: metricsRequestTimeout.duration),
            recording: .init(directory: recordDir, limits: RecorderLimits(maximumFiles: recordMaxFiles, maximumBytes: recordMaxBytes)),
            shutdown: .init(delay: shutdownDelay.duration, gracePeriod: shutdownGracePeriod.duration),
            threads: threads,
            kubernetesAPI: try kubernetesAPI(logger: logger))
        do {
            try await AdmissionWebhook.run(configuration, metrics: metrics, logger: logger)
        } catch let error as TLSSetupError {
            logger.critical("cannot start: \(error)")
            throw ExitCode(1)
        } catch let error as RegistrySetupError {
            logger.critical("cannot start: \(error)")
            throw ExitCode(1)
        }
    }
}

extension Serve {
    /// The in-cluster API configuration for `--pull-secrets`; outside a cluster that is a startup error.
    func kubernetesAPI(logger: Logger) throws -> InClusterConfiguration? {
        guard pullSecrets else { return nil }
        do {
            return try InClusterConfiguration.load(
                environment: ProcessInfo.processInfo.environment, tokenPath: kubernetesTokenFile, caPath: kubernetesCaFile)
        } catch {
            logger.critical("cannot start: --pull-secrets: \(error)")
            throw ExitCode(1)
        }
    }
}

/// A duration flag: `500ms`, `5s`, `1m30s`, or a plain number of seconds.
struct DurationArgument: ExpressibleByArgument, Sendable {
    var duration: Duration

    init(_ duration: Duration) { self.duration = duration }

    init?(argument: String) {
        if let seconds = Double(argument), seconds >= 0 {
            duration = .nanoseconds(Int64(seconds * 1e9))
        } else if let parsed = GoDuration.parse(argument) {
            duration = parsed
        } else {
            return nil
        }
    }

    var defaultValueDescription: String { "\(duration)" }
}
