import Logging
import Metrics
import NIOCertificateReloading
import NIOCore
import NIOSSL
import NIOTLS
import Synchronization
import X509
#if canImport(Glibc)
import Glibc
#endif

/// Why the server cannot start with the given TLS files.
public struct TLSSetupError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// Hands each new connection the current `NIOSSLContext`.
///
/// The certificate and key come from swift-nio-extras' `TimedCertificateReloader`, which polls the files
/// and is consulted on every handshake. Trust roots live in the context itself, so when the client CA file
/// changes a fresh context is built for the connections that follow. Invalid new files never replace
/// working ones: the old pair or CA keeps serving and the failure is logged at error level.
final class TLSContextProvider: Sendable {
    let reloader: TimedCertificateReloader
    private let files: TLSFiles
    private let logger: Logger
    private let metrics: ServerMetrics?
    private let state: Mutex<State>

    private struct State {
        var context: NIOSSLContext
        var clientCAStamp: FileStamp?
    }

    /// Identity of a file's content as far as `stat` can tell: follows symlinks, so a Secret's
    /// `..data` swap shows up as a new inode.
    struct FileStamp: Equatable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var modified: Int64
        var modifiedNanoseconds: Int64

        init?(path: String) {
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
            size = Int64(info.st_size)
            modified = Int64(info.st_mtim.tv_sec)
            modifiedNanoseconds = Int64(info.st_mtim.tv_nsec)
        }
    }

    init(files: TLSFiles, refreshInterval: Duration, logger: Logger, metrics: ServerMetrics?) throws(TLSSetupError) {
        guard files.clientAllowedNames.isEmpty || files.clientCA != nil else {
            throw TLSSetupError(description: "allowed client names need a client CA file to check certificates against")
        }
        if !files.clientAllowedNames.isEmpty, metrics != nil {
            // Created up front so that it reads 0 rather than missing.
            _ = Metrics.Counter(label: ClientNameCheck.refusedMetric)
        }
        self.files = files
        self.logger = logger
        self.metrics = metrics
        var reloaderConfiguration = TimedCertificateReloader.Configuration(
            refreshInterval: refreshInterval,
            certificateSource: .init(location: .file(path: files.certificate), format: .pem),
            privateKeySource: .init(location: .file(path: files.privateKey), format: .pem))
        let loaded = Mutex<(chain: [NIOSSLCertificateSource]?, failed: Bool)>((nil, false))
        reloaderConfiguration.logger = logger
        reloaderConfiguration.onCertificateLoaded = { [logger, metrics] diff in
            // Called on every poll; count and log only real changes.
            let changed = loaded.withLock { state -> Bool in
                defer { state = (diff.currentCertificateChain, false) }
                return state.chain != nil && state.chain != diff.currentCertificateChain
            }
            if changed {
                metrics?.recordTLSReload(source: "certificate", success: true)
                logger.notice("serving certificate reloaded", metadata: ["certificate": "\(files.certificate)"])
            }
        }
        reloaderConfiguration.onCertificateLoadFailed = { [logger, metrics] failure in
            // Log each distinct failure once per streak, but loudly.
            let first = loaded.withLock { state -> Bool in
                defer { state.failed = true }
                return !state.failed
            }
            metrics?.recordTLSReload(source: "certificate", success: false)
            if first {
                logger.error("cannot reload the serving certificate; still serving the previous one", metadata: [
                    "certificate": "\(files.certificate)", "key": "\(files.privateKey)", "error": "\(failure.error)",
                ])
            }
        }
        do {
            reloader = try TimedCertificateReloader.makeReloaderValidatingSources(configuration: reloaderConfiguration)
        } catch {
            throw TLSSetupError(description: "cannot load the serving certificate \(files.certificate) and key \(files.privateKey): \(error)")
        }
        let stamp = files.clientCA.flatMap { FileStamp(path: $0) }
        let context = try TLSContextProvider.makeContext(reloader: reloader, clientCA: files.clientCA)
        state = Mutex(State(context: context, clientCAStamp: stamp))
    }

    /// Adds TLS to a new connection: NIOSSL with the current context, then, when client names are
    /// restricted, the check of the verified client certificate's names.
    func addHandlers(to pipeline: ChannelPipeline.SynchronousOperations) throws {
        try pipeline.addHandler(NIOSSLServerHandler(context: context()))
        if !files.clientAllowedNames.isEmpty {
            try pipeline.addHandler(ClientNameCheck(allowed: files.clientAllowedNames, logger: logger, countsRefusals: metrics != nil))
        }
    }

    /// The context for a new connection; rebuilt first if the client CA file changed.
    func context() -> NIOSSLContext {
        guard let clientCA = files.clientCA else {
            return state.withLock { $0.context }
        }
        let stamp = FileStamp(path: clientCA)
        let (current, changed) = state.withLock { ($0.context, $0.clientCAStamp != stamp) }
        guard changed else { return current }
        do {
            let context = try TLSContextProvider.makeContext(reloader: reloader, clientCA: clientCA)
            state.withLock {
                $0.context = context
                $0.clientCAStamp = stamp
            }
            metrics?.recordTLSReload(source: "client_ca", success: true)
            logger.notice("client CA reloaded", metadata: ["clientCA": "\(clientCA)"])
            return context
        } catch {
            // Remember the bad stamp so a broken file is reported once, not per connection.
            state.withLock { $0.clientCAStamp = stamp }
            metrics?.recordTLSReload(source: "client_ca", success: false)
            logger.error("cannot reload the client CA; still trusting the previous one", metadata: ["clientCA": "\(clientCA)", "error": "\(error)"])
            return current
        }
    }

    /// TLS 1.2 and 1.3 only, ECDHE with AEAD ciphers for 1.2, ALPN `h2` then `http/1.1`.
    static func makeContext(reloader: TimedCertificateReloader, clientCA: String?) throws(TLSSetupError) -> NIOSSLContext {
        do {
            var configuration: TLSConfiguration
            if let clientCA {
                let roots = try NIOSSLCertificate.fromPEMFile(clientCA)
                guard !roots.isEmpty else { throw TLSSetupError(description: "no certificate in client CA file \(clientCA)") }
                configuration = try TLSConfiguration.makeServerConfigurationWithMTLS(certificateReloader: reloader, trustRoots: .certificates(roots))
                // A server checks the client's chain, not a hostname.
                configuration.certificateVerification = .noHostnameVerification
                configuration.sendCANameList = true
            } else {
                configuration = try TLSConfiguration.makeServerConfiguration(certificateReloader: reloader)
            }
            configuration.minimumTLSVersion = .tlsv12
            configuration.maximumTLSVersion = .tlsv13
            configuration.cipherSuiteValues = [
                .TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, .TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
                .TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, .TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
                .TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, .TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
            ]
            configuration.applicationProtocols = ["h2", "http/1.1"]
            // On close, wait at most a second for the peer's close_notify: a client that stopped
            // reading must not hold the drain for the 5 s default.
            configuration.shutdownTimeout = .seconds(1)
            return try NIOSSLContext(configuration: configuration)
        } catch let error as TLSSetupError {
            throw error
        } catch {
            throw TLSSetupError(description: "cannot build the TLS configuration\(clientCA.map { " with client CA \($0)" } ?? ""): \(error)")
        }
    }
}

/// Closes a connection whose client certificate, already verified against the client CA by NIOSSL,
/// carries none of the allowed names. It runs on the handshake-completed event, before any request
/// byte reaches the HTTP handlers; a refused connection never sees its event or its bytes.
final class ClientNameCheck: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    static let refusedMetric = "nonroot_admission_client_certificates_refused_total"
    /// Names logged from a refused certificate: bounded, since a certificate may list thousands.
    static let loggedNames = 8
    static let loggedNameLength = 256

    private let allowed: Set<String>
    private let logger: Logger
    private let countsRefusals: Bool
    private var refused = false

    init(allowed: Set<String>, logger: Logger, countsRefusals: Bool) {
        self.allowed = allowed
        self.logger = logger
        self.countsRefusals = countsRefusals
    }

    /// The subject's common name (the last one, as Go reads it) and the DNS SANs of a DER certificate.
    static func names(of certificate: NIOSSLCertificate) -> [String] {
        guard let parsed = try? Certificate(derEncoded: certificate.toDERBytes()) else { return [] }
        var names: [String] = []
        if let commonName = parsed.subject.reversed().lazy.flatMap({ $0.reversed() }).first(where: { $0.type == .RDNAttributeType.commonName }),
           let text = String(commonName.value) {
            names.append(text)
        }
        if let alternatives = try? parsed.extensions.subjectAlternativeNames {
            for case .dnsName(let name) in alternatives { names.append(name) }
        }
        return names
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard case .handshakeCompleted = event as? TLSUserEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        let peer = try? context.pipeline.syncOperations.nioSSL_peerCertificate()
        let names = peer.map(Self.names(of:)) ?? []
        if names.contains(where: allowed.contains) {
            context.fireUserInboundEventTriggered(event)
            context.pipeline.syncOperations.removeHandler(self, promise: nil)
            return
        }
        refused = true
        if countsRefusals { Metrics.Counter(label: Self.refusedMetric).increment() }
        let shown = names.prefix(Self.loggedNames).map { String($0.prefix(Self.loggedNameLength)) }
        logger.warning("client certificate refused: none of its names is in --client-allowed-names", metadata: [
            "peer": "\(context.channel.remoteAddress.map { "\($0)" } ?? "unknown")",
            "names": "\(shown)\(names.count > shown.count ? " and \(names.count - shown.count) more" : "")",
        ])
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Bytes that arrived with the handshake of a refused client go nowhere.
        guard !refused else { return }
        context.fireChannelRead(data)
    }
}
