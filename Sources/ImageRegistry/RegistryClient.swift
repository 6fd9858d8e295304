import JSON
import NIOHTTP1
import Synchronization

/// The OCI distribution API for one purpose: read manifests and config blobs, authenticating as
/// the registry asks (anonymous or credentialed Bearer tokens, or Basic).
final class RegistryClient: Sendable {
    let transport: RegistryTransport
    var configuration: RegistryConfiguration { transport.configuration }
    /// `Authorization` values by registry and repository, with their expiry.
    private let authorizations = Mutex<[String: CachedAuthorization]>([:])
    private let metrics: RegistryMetrics
    static let maximumCachedAuthorizations = 1024

    private struct CachedAuthorization {
        var value: String
        var expires: ContinuousClock.Instant?
    }

    init(transport: RegistryTransport, metrics: RegistryMetrics) {
        self.transport = transport
        self.metrics = metrics
    }

    enum Kind: String {
        case manifest, blob, token
    }

    /// A manifest, by tag or digest. `method` is GET or HEAD.
    func manifest(_ registry: String, _ repository: String, reference: String, method: HTTPMethod, credential: CredentialCandidate?, deadline: ContinuousClock.Instant) async throws(RegistryError) -> HTTPResult {
        try await request(
            registry, repository, credential: credential, path: "/v2/\(repository)/manifests/\(reference)", method: method,
            headers: [("accept", MediaType.manifestAccept)], maximumBytes: configuration.maximumManifestBytes,
            kind: .manifest, what: "manifest \(reference)", deadline: deadline)
    }

    /// A blob by digest (the image config).
    func blob(_ registry: String, _ repository: String, digest: String, credential: CredentialCandidate?, deadline: ContinuousClock.Instant) async throws(RegistryError) -> HTTPResult {
        try await request(
            registry, repository, credential: credential, path: "/v2/\(repository)/blobs/\(digest)", method: .GET, headers: [],
            maximumBytes: configuration.maximumConfigBytes, kind: .blob, what: "config blob \(digest)", deadline: deadline)
    }

    /// One request with `credential` (nil: anonymous). Tokens are cached per credential, so a token
    /// fetched with one credential is never used for a request made with another.
    private func request(
        _ registry: String, _ repository: String, credential: CredentialCandidate?, path: String, method: HTTPMethod, headers: [(String, String)],
        maximumBytes: Int, kind: Kind, what: String, deadline: ContinuousClock.Instant
    ) async throws(RegistryError) -> HTTPResult {
        let host = RegistryConfiguration.apiHost(for: registry)
        let secure = !(configuration.insecureRegistries.contains(registry) || configuration.insecureRegistries.contains(host))
        let url = RegistryURL(registry: host, secure: secure, path: path)
        let key = registry + "|" + repository + "|" + (credential?.fingerprint ?? "")
        var authorization = cachedAuthorization(key)
        var result = try await exchange(url, method: method, headers: headers, authorization: authorization, maximumBytes: maximumBytes, kind: kind, what: what, deadline: deadline)
        if result.status == .unauthorized {
            // A challenge is honoured only from the origin asked: a hop that a redirect led to (a blob
            // host, a CDN, anyone the registry names) must not get the registry's credentials, or
            // a token fetched with them, by asking for them.
            guard result.url.origin == url.origin else {
                throw .unauthorized(host: url.authority, detail: "the redirect to \(result.url.authority) answered 401; credentials are sent only to the registry itself, so that challenge is not answered")
            }
            let challenges = AuthChallenge.parse(result.headers[canonicalForm: "www-authenticate"].joined(separator: ", "))
            authorization = try await authorize(challenges, registry: registry, repository: repository, credential: credential, url: url, key: key, deadline: deadline)
            result = try await exchange(url, method: method, headers: headers, authorization: authorization, maximumBytes: maximumBytes, kind: kind, what: what, deadline: deadline)
        }
        switch result.status.code {
        case 200..<300:
            return result
        case 401, 403:
            authorizations.withLock { $0[key] = nil }
            var detail = RegistryClient.errorDetail(result) ?? "\(result.status.code) \(result.status.reasonPhrase)"
            if credential?.credential.isAnonymous ?? true {
                detail += " (anonymous; no credentials for \(registry))"
            }
            throw .unauthorized(host: url.authority, detail: detail)
        default:
            throw .status(
                code: result.status.code, phrase: result.status.reasonPhrase, request: "\(method.rawValue) \(what)",
                detail: RegistryClient.errorDetail(result) ?? "", retryAfter: result.headers.first(name: "retry-after"))
        }
    }

    private func exchange(
        _ url: RegistryURL, method: HTTPMethod, headers: [(String, String)], authorization: String?, maximumBytes: Int,
        kind: Kind, what: String, deadline: ContinuousClock.Instant
    ) async throws(RegistryError) -> HTTPResult {
        do {
            let result = try await transport.fetch(url, method: method, headers: headers, authorization: authorization, maximumBytes: maximumBytes, what: what, deadline: deadline)
            metrics.request(kind: kind.rawValue, status: result.status.code)
            return result
        } catch {
            metrics.request(kind: kind.rawValue, status: nil)
            throw error
        }
    }

    /// Answers a 401's challenges: a Bearer token from the realm (with Basic credentials when the
    /// auth file has some), or Basic credentials. Returns the `Authorization` value to retry with.
    private func authorize(
        _ challenges: [AuthChallenge], registry: String, repository: String, credential: CredentialCandidate?, url: RegistryURL, key: String,
        deadline: ContinuousClock.Instant
    ) async throws(RegistryError) -> String {
        // Empty credentials (an identitytoken-only entry) are anonymous, as in containerd.
        let credentials = credential.flatMap { $0.credential.isAnonymous ? nil : $0.credential }
        if let bearer = challenges.first(where: { $0.scheme == "bearer" }) {
            guard let realmText = bearer.parameters["realm"], let realm = RegistryURL(absolute: realmText) else {
                throw .unauthorized(host: url.authority, detail: "Bearer challenge without a usable realm")
            }
            var query: [String] = []
            if let service = bearer.parameters["service"] { query.append("service=" + service.queryEncoded) }
            let scope = bearer.parameters["scope"] ?? "repository:\(repository):pull"
            for part in scope.split(separator: " ") { query.append("scope=" + String(part).queryEncoded) }
            var tokenURL = realm
            let separator = realm.pathAndQuery.contains("?") ? "&" : "?"
            tokenURL.pathAndQuery += query.isEmpty ? "" : separator + query.joined(separator: "&")
            if credentials != nil, !tokenURL.isSecure { throw .credentialsOverHTTP(host: tokenURL.authority) }
            let result = try await exchange(
                tokenURL, method: .GET, headers: [], authorization: credentials?.header,
                maximumBytes: configuration.maximumTokenBytes, kind: .token, what: "token", deadline: deadline)
            guard result.status == .ok else {
                let who = credentials == nil ? "anonymous access" : "the credentials from \(credential?.source ?? "")"
                let detail = RegistryClient.errorDetail(result).map { ": \($0)" } ?? ""
                throw .unauthorized(host: url.authority, detail: "token server \(tokenURL.authority) answered \(result.status.code) \(result.status.reasonPhrase) for \(who)\(detail)")
            }
            let token: TokenResponse
            do {
                token = try TokenResponse.parse(result.body)
            } catch {
                throw .document(what: "token response from \(tokenURL.authority)", reason: error.reason)
            }
            let value = "Bearer " + token.token
            // Renew a little early so a token never expires in flight.
            let lifetime = Duration.seconds(token.expiresIn) - .seconds(min(token.expiresIn / 10, 30))
            store(key, CachedAuthorization(value: value, expires: .now + lifetime))
            return value
        }
        if challenges.contains(where: { $0.scheme == "basic" }) {
            guard let credentials else {
                throw .unauthorized(host: url.authority, detail: "the registry requires credentials and none were found for \(registry)")
            }
            guard url.isSecure else { throw .credentialsOverHTTP(host: url.authority) }
            store(key, CachedAuthorization(value: credentials.header, expires: nil))
            return credentials.header
        }
        throw .unauthorized(host: url.authority, detail: "401 with no supported challenge")
    }

    private func cachedAuthorization(_ key: String) -> String? {
        authorizations.withLock { table in
            guard let cached = table[key] else { return nil }
            if let expires = cached.expires, expires <= .now {
                table[key] = nil
                return nil
            }
            return cached.value
        }
    }

    private func store(_ key: String, _ value: CachedAuthorization) {
        authorizations.withLock { table in
            if table.count >= RegistryClient.maximumCachedAuthorizations { table.removeAll(keepingCapacity: true) }
            table[key] = value
        }
    }

    /// `CODE: message` from a distribution error body, when there is one.
    static func errorDetail(_ result: HTTPResult) -> String? {
        guard let document = try? JSONDocument(parsing: result.body, limits: JSONLimits(maximumDepth: 16, maximumBytes: 64 << 10)),
              let first = document.root["errors"]?.elements.first else { return nil }
        let code = first["code"]?.string ?? ""
        let message = first["message"]?.string ?? ""
        let text = [code, message].filter { !$0.isEmpty }.joined(separator: ": ")
        guard !text.isEmpty else { return nil }
        return String(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }.prefix(200).map(Character.init))
    }
}
