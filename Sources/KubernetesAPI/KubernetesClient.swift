import AsyncHTTPClient
public import Logging
import NIOCore
import NIOSSL

/// Limits and lifetimes of `KubernetesClient`. Each default is defined here once.
public struct KubernetesClientConfiguration: Sendable {
    public var cluster: InClusterConfiguration
    /// Per request, connect included.
    public var timeout: Duration = .seconds(5)
    /// Largest answer read; the API server's own request limit for an object is 3 MiB, a Secret is
    /// at most 1 MiB of data.
    public var maximumResponseBytes = 1 << 20
    /// How long an object, a 404 or a 403 is reused.
    public var cacheLifetime: Duration = .seconds(30)
    /// Most answers kept, per kind.
    public var maximumCacheEntries = 1024
    /// Most bytes of Secret data (and ServiceAccount names) kept, per kind; a larger answer is not cached.
    public var maximumCacheBytes = 16 << 20

    public init(cluster: InClusterConfiguration) {
        self.cluster = cluster
    }
}

/// Reads Secrets and ServiceAccounts by name from the API server, with the pod's service-account
/// token. It only ever GETs one named object (never lists or watches), so the RBAC it needs is `get`.
public protocol KubernetesObjectReader: Sendable {
    func secret(namespace: String, name: String) async throws(KubernetesAPIError) -> Secret
    func serviceAccount(namespace: String, name: String) async throws(KubernetesAPIError) -> ServiceAccount
}

/// The API server client: HTTPS to the in-cluster address, the cluster CA as the only trust root,
/// bounded answers, a timeout, and a short cache with one request in flight per object.
public final class KubernetesClient: KubernetesObjectReader {
    public let configuration: KubernetesClientConfiguration
    private let client: HTTPClient
    private let token: ServiceAccountToken
    private let logger: Logger
    private let secrets: AnswerCache<Secret>
    private let serviceAccounts: AnswerCache<ServiceAccount>

    /// Reads the cluster CA now; fails if it has no certificate.
    public init(configuration: KubernetesClientConfiguration, logger: Logger = Logger(label: "nonroot-admission.kubernetes-api")) throws(KubernetesAPIError) {
        // NIOSSL gives no detail for a missing file or one without certificates: both are "no certificate".
        guard let certificates = try? NIOSSLCertificate.fromPEMFile(configuration.cluster.caPath), !certificates.isEmpty else {
            throw .notInCluster("no PEM certificate in the cluster CA at \(configuration.cluster.caPath)")
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        tls.trustRoots = .certificates(certificates)
        let timeout = TimeAmount(configuration.timeout)
        var http = HTTPClient.Configuration(
            tlsConfiguration: tls, redirectConfiguration: .disallow,
            timeout: .init(connect: timeout, read: timeout), proxy: nil, decompression: .disabled)
        http.connectionPool.retryConnectionEstablishment = false
        self.configuration = configuration
        self.client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: http)
        self.token = ServiceAccountToken(path: configuration.cluster.tokenPath)
        self.logger = logger
        self.secrets = AnswerCache(lifetime: configuration.cacheLifetime, capacity: configuration.maximumCacheEntries, maximumBytes: configuration.maximumCacheBytes) {
            $0.data.values.reduce(256) { $0 + $1.count }
        }
        self.serviceAccounts = AnswerCache(lifetime: configuration.cacheLifetime, capacity: configuration.maximumCacheEntries, maximumBytes: configuration.maximumCacheBytes) {
            $0.imagePullSecrets.reduce(256) { $0 + $1.utf8.count + 16 }
        }
    }

    /// Closes the connections. Call once, when reads are over.
    public func shutdown() async {
        try? await client.shutdown()
    }

    /// `GET /api/v1/namespaces/{namespace}/secrets/{name}`.
    public func secret(namespace: String, name: String) async throws(KubernetesAPIError) -> Secret {
        try ObjectName.validateNamespace(namespace)
        try ObjectName.validateSubdomain(name, what: "secret name")
        let path = "/api/v1/namespaces/\(namespace)/secrets/\(name)"
        return try await secrets.answer(for: path) { [self] in await fetch(path, Secret.decode) }.get()
    }

    /// `GET /api/v1/namespaces/{namespace}/serviceaccounts/{name}`.
    public func serviceAccount(namespace: String, name: String) async throws(KubernetesAPIError) -> ServiceAccount {
        try ObjectName.validateNamespace(namespace)
        try ObjectName.validateSubdomain(name, what: "service account name")
        let path = "/api/v1/namespaces/\(namespace)/serviceaccounts/\(name)"
        return try await serviceAccounts.answer(for: path) { [self] in await fetch(path, ServiceAccount.decode) }.get()
    }

    private func fetch<Value>(_ path: String, _ decode: ([UInt8]) throws(KubernetesAPIError) -> Value) async -> Result<Value, KubernetesAPIError> {
        do {
            return .success(try decode(try await get(path)))
        } catch {
            return .failure(error)
        }
    }

    /// One GET: the body of a 2xx answer, or the error the status stands for.
    func get(_ path: String) async throws(KubernetesAPIError) -> [UInt8] {
        let bearer = try token.current()
        var request = HTTPClientRequest(url: configuration.cluster.baseURL + path)
        request.method = .GET
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "nonroot-admission")
        request.headers.add(name: "Authorization", value: "Bearer \(bearer)")
        let started = ContinuousClock.now
        let limit = configuration.maximumResponseBytes
        do {
            let response = try await client.execute(request, deadline: .now() + TimeAmount(configuration.timeout), logger: nil)
            if let length = response.headers.first(name: "content-length").flatMap(Int.init), length > limit {
                throw KubernetesAPIError.tooLarge(limit: limit)
            }
            let body: [UInt8]
            do {
                body = Array(try await response.body.collect(upTo: limit).readableBytesView)
            } catch is NIOTooManyBytesError {
                throw KubernetesAPIError.tooLarge(limit: limit)
            }
            let code = Int(response.status.code)
            if (200..<300).contains(code) { return body }
            let message = APIObject.statusMessage(body) ?? response.status.reasonPhrase
            logger.debug("API server refused a read", metadata: ["path": "\(path)", "status": "\(code)"])
            switch code {
            case 401: throw KubernetesAPIError.unauthorized(message)
            case 403: throw KubernetesAPIError.forbidden(message)
            case 404: throw KubernetesAPIError.notFound(message)
            default: throw KubernetesAPIError.status(code: code, message: message)
            }
        } catch let error as KubernetesAPIError {
            throw error
        } catch {
            if ContinuousClock.now - started >= configuration.timeout { throw .timeout(after: configuration.timeout) }
            throw .transport(KubernetesClient.describe(error))
        }
    }

    /// A short reason without file paths or tokens.
    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout, .deadlineExceeded, .readTimeout: return "timed out"
            case .remoteConnectionClosed: return "the connection closed before the answer was complete"
            default: return "\(error)"
            }
        }
        let text = "\(error)"
        if text.contains("CERTIFICATE_VERIFY_FAILED") { return "TLS certificate verification failed: the server's certificate is not from the cluster CA" }
        if error is NIOSSLError { return "TLS failed: \(text)" }
        if text.lowercased().contains("refused") { return "connection refused" }
        return text
    }
}
