import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// One HTTP exchange with a registry, token server or blob host, after redirects.
struct HTTPResult: Sendable {
    var status: HTTPResponseStatus
    var headers: HTTPHeaders
    var body: [UInt8]
    /// Where the answer came from, after redirects.
    var url: RegistryURL
    /// The body's bytes, held in `--registry-max-bytes-in-flight` until the result goes.
    var charge: GateCharge = .none
}

/// HTTP over AsyncHTTPClient with the webhook's rules: HTTPS unless a registry is named insecure,
/// no connection to internal addresses, at most N redirects, never to plain HTTP, no credentials
/// across origins, bounded bodies, and every request under the lookup's deadline.
///
/// Host names are resolved here and checked; the connection then goes to the checked address
/// (AsyncHTTPClient's `dnsOverride`, which keeps SNI and certificate checks on the name), so a DNS
/// answer that changes between the check and the connect cannot reach an internal address.
final class RegistryTransport: Sendable {
    let configuration: RegistryConfiguration
    let metrics: RegistryMetrics
    private let tls: TLSConfiguration
    /// For IP literals.
    private let direct: HTTPClient
    private let pinned = Mutex<[String: PinnedClient]>([:])
    private let retired = Mutex<[HTTPClient]>([])
    /// Made last in `init`: its threads must be shut down, so nothing may throw after it starts.
    let hostResolver: HostResolver
    /// Requests in flight, across all lookups.
    let fetches: RegistryGate
    /// Response bytes held, bodies and parse tapes, across all lookups.
    let bytes: RegistryGate
    static let pinnedLifetime: Duration = .seconds(60)
    static let maximumPinnedHosts = 64

    private struct PinnedClient {
        var client: HTTPClient
        var address: IPAddress
        var expires: ContinuousClock.Instant
    }

    init(configuration: RegistryConfiguration, metrics: RegistryMetrics = RegistryMetrics()) throws(RegistrySetupError) {
        self.configuration = configuration
        guard configuration.maximumConcurrentFetches > 0 else {
            throw RegistrySetupError(reason: "--registry-max-concurrent-fetches must be positive")
        }
        guard configuration.maximumBytesInFlight >= configuration.minimumBytesInFlight else {
            throw RegistrySetupError(reason: "--registry-max-bytes-in-flight must be at least \(configuration.minimumBytesInFlight) bytes: the largest document accepted, and its parse")
        }
        self.fetches = RegistryGate(capacity: configuration.maximumConcurrentFetches) { metrics.fetchesInFlight($0) }
        self.bytes = RegistryGate(capacity: configuration.maximumBytesInFlight) { metrics.bytesInFlight($0) }
        self.metrics = metrics
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        if let caFile = configuration.caFile {
            do {
                let certificates = try NIOSSLCertificate.fromPEMFile(caFile)
                guard !certificates.isEmpty else { throw RegistrySetupError(reason: "\(caFile): no PEM certificates") }
                tls.additionalTrustRoots = [.certificates(certificates)]
            } catch let error as RegistrySetupError {
                throw error
            } catch {
                throw RegistrySetupError(reason: "\(caFile): cannot read CA certificates: \(error)")
            }
        }
        self.tls = tls
        self.direct = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: RegistryTransport.clientConfiguration(tls: tls, dnsOverride: [:]))
        self.hostResolver = HostResolver()
    }

    static func clientConfiguration(tls: TLSConfiguration, dnsOverride: [String: String]) -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls, redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(5), read: .seconds(30)),
            connectionPool: .init(idleTimeout: .seconds(60)), proxy: nil, ignoreUncleanSSLShutdown: false, decompression: .disabled)
        // A refused connection or a bad certificate is an answer; retrying until the deadline only hides it.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.dnsOverride = dnsOverride
        return configuration
    }

    /// Closes every connection. Call once, when lookups are over.
    func shutdown() async {
        let clients = pinned.withLock { table in
            defer { table.removeAll() }
            return table.values.map(\.client)
        } + retired.withLock { list in
            defer { list.removeAll() }
            return list
        }
        for client in clients + [direct] { try? await client.shutdown() }
        await hostResolver.shutdown()
    }

    /// Whether plain HTTP to `url` is allowed (`--registry-allow-insecure host[:port]`). As in Docker's
    /// insecure-registries, an entry without a port is that host on the default port (80), not every port.
    func isInsecureAllowed(_ url: RegistryURL) -> Bool {
        let hostPart = url.host.contains(":") ? "[\(url.host)]" : url.host
        return configuration.insecureRegistries.contains("\(hostPart):\(url.port)") || (url.port == 80 && configuration.insecureRegistries.contains(hostPart))
    }

    /// GET or HEAD `url`, following redirects under the rules above. `authorization` goes only to `url`'s origin.
    func fetch(
        _ url: RegistryURL, method: HTTPMethod, headers: [(String, String)], authorization: String?,
        maximumBytes: Int, what: String, deadline: ContinuousClock.Instant
    ) async throws(RegistryError) -> HTTPResult {
        var url = url
        let origin = url.origin
        var authorization = authorization
        var redirects = 0
        while true {
            if !url.isSecure && !isInsecureAllowed(url) { throw .insecureRefused(url: url.redacted) }
            var sent = headers
            if let authorization {
                // Never over plain HTTP, even to a registry allowed to be insecure.
                guard url.isSecure else { throw .credentialsOverHTTP(host: url.authority) }
                sent.append(("authorization", authorization))
            }
            let result = try await send(url, method: method, headers: sent, maximumBytes: maximumBytes, what: what, deadline: deadline)
            guard [301, 302, 303, 307, 308].contains(result.status.code), let location = result.headers.first(name: "location") else {
                return result
            }
            redirects += 1
            guard redirects <= configuration.maximumRedirects else { throw .tooManyRedirects(limit: configuration.maximumRedirects) }
            guard let next = url.resolving(location) else {
                throw .transport(host: url.authority, reason: "redirect to an invalid location")
            }
            if url.isSecure && !next.isSecure { throw .insecureRefused(url: next.redacted) }
            if next.origin != origin { authorization = nil }
            url = next
        }
    }

    private func send(
        _ url: RegistryURL, method: HTTPMethod, headers: [(String, String)], maximumBytes: Int, what: String,
        deadline: ContinuousClock.Instant
    ) async throws(RegistryError) -> HTTPResult {
        let client = try await client(for: url, deadline: deadline)
        var request = HTTPClientRequest(url: url.description)
        request.method = method
        request.headers.add(name: "user-agent", value: configuration.userAgent)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        guard deadline > .now else { throw .timeout(after: configuration.timeout) }
        try await acquire(1, from: fetches, as: .fetches(fetches.capacity), deadline: deadline)
        defer { fetches.release(1) }
        let remaining = deadline - .now
        guard remaining > .zero else { throw .timeout(after: configuration.timeout) }
        do {
            let response = try await client.execute(request, deadline: .now() + TimeAmount(remaining), logger: nil)
            let success = (200..<300).contains(response.status.code)
            // Error bodies are read only for their message; cap them low.
            let limit = success ? maximumBytes : min(maximumBytes, 64 << 10)
            let length = response.headers.first(name: "content-length").flatMap(Int.init)
            if success, let length, length > limit {
                throw RegistryError.tooLarge(what: what, limit: limit)
            }
            var body: [UInt8] = []
            var charge = GateCharge.none
            if method != .HEAD {
                // The body is charged before it is read: its declared length, or the cap when undeclared.
                let expected = min(max(length ?? limit, 0), limit)
                try await acquire(expected, from: bytes, as: .bytes(bytes.capacity), deadline: deadline)
                charge = GateCharge(bytes, amount: expected)
                do {
                    let buffer = try await response.body.collect(upTo: limit)
                    body = Array(buffer.readableBytesView)
                } catch is NIOTooManyBytesError {
                    if success { throw RegistryError.tooLarge(what: what, limit: limit) }
                }
                charge.shrink(to: body.count)
            }
            return HTTPResult(status: response.status, headers: response.headers, body: body, url: url, charge: charge)
        } catch let error as RegistryError {
            throw error
        } catch {
            if ContinuousClock.now >= deadline { throw .timeout(after: configuration.timeout) }
            throw .transport(host: url.authority, reason: RegistryTransport.describe(error))
        }
    }

    /// Takes `amount` from `gate` by `deadline`, or throws `.busy(limit)` (counted). While it waits,
    /// the fetch's `FetchProgress` says so.
    func acquire(_ amount: Int, from gate: RegistryGate, as limit: RegistryLimit, deadline: ContinuousClock.Instant) async throws(RegistryError) {
        let progress = FetchProgress.current
        progress?.enter(limit)
        let granted = await gate.acquire(amount, deadline: deadline)
        progress?.leave(limit)
        guard granted else {
            metrics.refusedByLimit(limit)
            throw .busy(limit)
        }
    }

    /// The client to reach `url`'s host with, after the address checks.
    /// Host names are always resolved here and pinned, with or without `--registry-allow-private`, so
    /// one code path connects to every named registry.
    private func client(for url: RegistryURL, deadline: ContinuousClock.Instant) async throws(RegistryError) -> HTTPClient {
        let access = configuration.privateAccess
        if let literal = IPAddress(url.host) {
            if !access.allows(host: url.host, address: literal), let why = AddressPolicy.refusal(for: literal) {
                throw .refusedAddress(host: url.host, address: literal.description, why: why)
            }
            return direct
        }
        let now = ContinuousClock.now
        if let cached = pinned.withLock({ $0[url.host] }), cached.expires > now { return cached.client }
        let addresses = try await hostResolver.resolve(url.host, deadline: deadline)
        for address in addresses where !access.allows(host: url.host, address: address) {
            if let why = AddressPolicy.refusal(for: address) {
                throw .refusedAddress(host: url.host, address: address.description, why: why)
            }
        }
        let address = addresses[0]
        return pinned.withLock { table -> HTTPClient in
            if var existing = table[url.host], existing.address == address {
                existing.expires = now + RegistryTransport.pinnedLifetime
                table[url.host] = existing
                return existing.client
            }
            let client = HTTPClient(
                eventLoopGroup: HTTPClient.defaultEventLoopGroup,
                configuration: RegistryTransport.clientConfiguration(tls: tls, dnsOverride: [url.host: address.description]))
            if let old = table.updateValue(PinnedClient(client: client, address: address, expires: now + RegistryTransport.pinnedLifetime), forKey: url.host) {
                retire(old.client)
            }
            if table.count > RegistryTransport.maximumPinnedHosts, let oldest = table.min(by: { $0.value.expires < $1.value.expires }) {
                table[oldest.key] = nil
                retire(oldest.value.client)
            }
            return client
        }
    }

    /// Shuts a replaced client down once its requests are done.
    private func retire(_ client: HTTPClient) {
        Task {
            try? await Task.sleep(for: configuration.timeout + .seconds(1))
            try? await client.shutdown()
        }
    }

    /// BoringSSL's reason, without file paths, with a hint for the two common causes.
    static func describeTLS(_ text: String) -> String {
        if text.contains("CERTIFICATE_VERIFY_FAILED") {
            return "certificate verification failed; is the registry's CA in --registry-ca-file?"
        }
        if text.contains("WRONG_VERSION_NUMBER") {
            return "the server does not speak TLS; if it is a plain HTTP registry, name it in --registry-allow-insecure"
        }
        if let start = text.firstRange(of: "OPENSSL_internal:") {
            let rest = text[start.upperBound...]
            return String(rest.prefix { $0 != " " && $0 != "]" })
        }
        return text
    }

    /// A short, secret-free reason for a transport failure.
    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout: return "connect timed out"
            case .tlsHandshakeTimeout: return "TLS handshake timed out"
            case .readTimeout: return "read timed out"
            case .remoteConnectionClosed, .cancelled: return "the connection closed before the answer was complete"
            case .bodyLengthMismatch: return "the body was shorter than its Content-Length"
            case .deadlineExceeded: return "timed out"
            default: return "\(error)"
            }
        }
        if let error = error as? NIOSSLError {
            return "TLS failed: " + describeTLS("\(error)")
        }
        if let error = error as? NIOConnectionError {
            let reasons = error.connectionErrors.map { "\($0.error)" }
            if reasons.contains(where: { $0.contains("refused") || $0.contains("111") }) { return "connection refused" }
            if let dns = error.dnsAError ?? error.dnsAAAAError { return "DNS: \(dns)" }
            return reasons.first ?? "cannot connect"
        }
        let text = "\(error)"
        let lower = text.lowercased()
        if lower.contains("refused") { return "connection refused" }
        if lower.contains("eof") || lower.contains("closed") || lower.contains("ended") {
            return "the connection closed before the answer was complete"
        }
        return text
    }
}

extension RegistryURL {
    /// The URL without its query, which may hold presigned tokens.
    var redacted: String { "\(isSecure ? "https" : "http")://\(authority)\(pathAndQuery.split(separator: "?", maxSplits: 1).first.map(String.init) ?? "/")" }
}
