import AdmissionModel
import FoundationEssentials

/// Registry credentials from a docker `config.json`, the format of a `kubernetes.io/dockerconfigjson`
/// Secret: `{"auths": {"HOST": {"auth": base64("user:password")}}}`, or `username` and `password`.
/// The older `.dockercfg` form, with the hosts at the top level, is read too.
public struct RegistryCredentials: Sendable {
    /// A user name and password. `description` never shows the password.
    public struct Basic: Sendable, Equatable, CustomStringConvertible {
        public var username: String
        public var password: String

        public init(username: String, password: String) {
            self.username = username
            self.password = password
        }

        /// The `Authorization` header value.
        var header: String { "Basic " + Data("\(username):\(password)".utf8).base64EncodedString() }

        public var description: String { "\(username):<redacted>" }
    }

    private var byHost: [String: Basic] = [:]

    public init() {}

    /// The number of registries with credentials.
    public var count: Int { byHost.count }

    /// The credentials for a registry host (`host[:port]` as in the image reference).
    public func credentials(for registry: String) -> Basic? {
        if let found = byHost[registry] { return found }
        if RegistryCredentials.dockerHubAliases.contains(registry) {
            for alias in RegistryCredentials.dockerHubAliases { if let found = byHost[alias] { return found } }
        }
        return nil
    }

    static let dockerHubAliases = ["docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"]

    /// Parses config.json text. Entries without usable credentials are skipped; `identitytoken`
    /// (OAuth refresh tokens) is not supported and such entries are skipped too.
    public static func parse(_ bytes: [UInt8], source: String) throws(RegistryCredentialsError) -> RegistryCredentials {
        let root: JSONValue
        do {
            let document = try JSONDocument(parsing: bytes, limits: JSONLimits(maximumDepth: 16, maximumBytes: 4 << 20))
            root = document.root
        } catch {
            throw RegistryCredentialsError(source: source, reason: "not valid JSON: \(error)")
        }
        guard root.isObject else { throw RegistryCredentialsError(source: source, reason: "expected a JSON object with an \"auths\" key") }
        let hosts = root["auths"] ?? root
        guard hosts.isObject else { throw RegistryCredentialsError(source: source, reason: "\"auths\" must be an object") }
        var credentials = RegistryCredentials()
        for (key, entry) in hosts.members where entry.isObject {
            let host = normalizeHost(key)
            guard !host.isEmpty else { continue }
            if let auth = entry["auth"]?.string, !auth.isEmpty {
                guard let decoded = Data(base64Encoded: auth), let text = String(validating: decoded, as: UTF8.self),
                      let colon = text.firstIndex(of: ":") else {
                    throw RegistryCredentialsError(source: source, reason: "the \"auth\" of \(key) is not base64 of user:password")
                }
                credentials.byHost[host] = Basic(username: String(text[..<colon]), password: String(text[text.index(after: colon)...]))
            } else if let username = entry["username"]?.string, let password = entry["password"]?.string, !username.isEmpty {
                credentials.byHost[host] = Basic(username: username, password: password)
            }
        }
        return credentials
    }

    /// Reads a config.json file.
    public static func load(path: String) throws(RegistryCredentialsError) -> RegistryCredentials {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RegistryCredentialsError(source: path, reason: "cannot read the file")
        }
        return try parse(Array(data), source: path)
    }

    /// `https://index.docker.io/v1/` → `index.docker.io`; `ghcr.io/` → `ghcr.io`. Keys are matched by host[:port].
    static func normalizeHost(_ key: String) -> String {
        var host = Substring(key)
        for scheme in ["https://", "http://"] where host.lowercased().hasPrefix(scheme) {
            host = host.dropFirst(scheme.count)
        }
        if let slash = host.firstIndex(of: "/") { host = host[..<slash] }
        return host.lowercased()
    }
}

/// A credentials file that cannot be used. Never contains secrets.
public struct RegistryCredentialsError: Error, Sendable, CustomStringConvertible {
    public var source: String
    public var reason: String

    public var description: String { "\(source): \(reason)" }
}
