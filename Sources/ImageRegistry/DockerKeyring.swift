#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import JSON

/// A user name and password for a registry. `description` never shows the password.
public struct RegistryCredential: Sendable, Hashable, CustomStringConvertible, CustomReflectable {
    public var username: String
    public var password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    /// Empty credentials (an `identitytoken`-only entry, say) pull anonymously, as containerd does.
    var isAnonymous: Bool { username.isEmpty && password.isEmpty }

    /// The `Authorization` header value.
    var header: String { "Basic " + Data("\(username):\(password)".utf8).base64EncodedString() }

    public var description: String { "\(username):<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: ["username": username, "password": "<redacted>"]) }
}

/// The kubelet's `BasicDockerKeyring` (k/k `pkg/credentialprovider/keyring.go`): registry keys
/// normalised to `host[:port][/path]`, kept in reverse lexicographic order, and matched against
/// the image's repository (`docker.io/library/nginx`, no tag or digest) with `URLsMatch`.
///
/// A lookup returns the credentials of every matching key, most specific first; only when none
/// matches, and the image is on Docker Hub, those of `index.docker.io`.
public struct DockerKeyring: Sendable, Equatable {
    /// The normalised keys, de-duplicated and sorted in reverse (longer keys before their prefixes).
    public private(set) var index: [String] = []
    private var credentials: [String: [RegistryCredential]] = [:]

    public init() {}

    /// The number of credentials held, over all keys.
    public var count: Int { credentials.values.reduce(0) { $0 + $1.count } }
    public var isEmpty: Bool { credentials.isEmpty }

    /// Adds `credential` under `key` (`https://index.docker.io/v1/`, `reg.io:5000/team`). A key
    /// Go's `url.Parse` refuses is ignored, as the kubelet does. The same key added again keeps
    /// both credentials, the earlier first.
    public mutating func add(_ key: String, _ credential: RegistryCredential) {
        guard let normalized = DockerKeyring.normalize(key) else { return }
        if credentials[normalized] == nil {
            index.append(normalized)
            index.sort(by: >)
        }
        credentials[normalized, default: []].append(credential)
    }

    /// Every entry of `other` added after the ones here (the kubelet merges all of a pod's pull
    /// secrets into one keyring, so the order and the Docker Hub fallback span them all).
    public mutating func add(contentsOf other: DockerKeyring) {
        // `other.index` is sorted, not in insertion order; per key the order is kept, which is all
        // a lookup can see.
        for key in other.index {
            for credential in other.credentials[key] ?? [] { add(key, credential) }
        }
    }

    /// The credentials to try for `repository` (`docker.io/library/nginx`), in order.
    public func lookup(_ repository: String) -> [RegistryCredential] {
        var found: [RegistryCredential] = []
        for key in index where KeyringMatching.urlsMatch(glob: key, target: repository) {
            found += credentials[key] ?? []
        }
        if found.isEmpty, DockerKeyring.isDefaultRegistryMatch(repository) {
            return credentials[DockerKeyring.defaultRegistryHost] ?? []
        }
        return found
    }

    static let defaultRegistryHost = "index.docker.io"

    /// `BasicDockerKeyring.Add`'s key: `https://` added when there is no scheme, then the host (with
    /// its port, case kept) and the path without a leading `/v1/` or `/v2/`.
    static func normalize(_ key: String) -> String? {
        let value = key.hasPrefix("https://") || key.hasPrefix("http://") ? key : "https://" + key
        guard let parsed = KeyringMatching.parseURL(value) else { return nil }
        var path = Substring(parsed.path)
        if path.hasPrefix("/v2/") || path.hasPrefix("/v1/") { path = path.dropFirst(3) }
        return !path.isEmpty && path != "/" ? parsed.host + path : parsed.host
    }

    /// `isDefaultRegistryMatch`: the first segment is `docker.io` or `index.docker.io`, or names no
    /// host at all (no `.` or `:`), or there is only one segment.
    static func isDefaultRegistryMatch(_ image: String) -> Bool {
        let parts = image.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let first = parts.first, !first.isEmpty else { return false }
        if parts.count == 1 { return true }
        if first == "docker.io" || first == "index.docker.io" { return true }
        return !first.contains(".") && !first.contains(":")
    }
}

// MARK: - Reading docker configs

extension DockerKeyring {
    /// The two Secret payloads the kubelet reads, and the file form that may be either.
    public enum ConfigFormat: Sendable {
        /// `.dockerconfigjson` (`kubernetes.io/dockerconfigjson`): `{"auths": {KEY: ENTRY}}`.
        case dockerConfigJSON
        /// `.dockercfg` (`kubernetes.io/dockercfg`): `{KEY: ENTRY}`.
        case dockercfg
        /// A config file: `.dockerconfigjson` when it has an `auths` member, else `.dockercfg`.
        case automatic
    }

    /// Parses a docker config as the kubelet's `encoding/json` does: member names of the
    /// structs (`auths`, `username`, `password`, `auth`) match case-insensitively and the last
    /// one wins; registry keys are map keys and match exactly. A non-empty `auth`
    /// (base64 of `user:password`, padded or not) overrides `username` and `password`.
    /// `identitytoken` is not read, so such an entry pulls anonymously, as on the node.
    ///
    /// Any error fails the whole config, as a bad pull secret fails the kubelet's pull.
    public static func parse(_ bytes: [UInt8], format: ConfigFormat = .automatic, source: String) throws(RegistryCredentialsError) -> DockerKeyring {
        let root: JSONValue
        do {
            let document = try JSONDocument(parsing: bytes, limits: JSONLimits(maximumDepth: 16, maximumBytes: 4 << 20))
            root = document.root
        } catch {
            throw RegistryCredentialsError(source: source, reason: "not valid JSON: \(error)")
        }
        func fail(_ reason: String) -> RegistryCredentialsError { RegistryCredentialsError(source: source, reason: reason) }
        guard root.isObject else {
            throw fail(format == .dockercfg ? "expected a JSON object of registries" : "expected a JSON object with an \"auths\" key")
        }
        let auths: JSONValue?
        switch format {
        case .dockercfg:
            auths = root
        case .dockerConfigJSON:
            auths = GoJSON.field(root, "auths")
        case .automatic:
            auths = GoJSON.field(root, "auths") ?? root
        }
        var keyring = DockerKeyring()
        guard let auths, !auths.isNull else { return keyring }
        guard auths.isObject else { throw fail("\"auths\" must be an object") }
        // A repeated registry key is one map entry: the last one wins, in the first one's place.
        var entries: [(key: String, value: JSONValue)] = []
        var positions: [String: Int] = [:]
        for member in auths.members {
            if let position = positions[member.key] {
                entries[position].value = member.value
            } else {
                positions[member.key] = entries.count
                entries.append(member)
            }
        }
        for (key, entry) in entries {
            keyring.add(key, try credential(entry, key: key, fail: fail))
        }
        return keyring
    }

    /// One `DockerConfigEntry`: `auth` decoded over `username` and `password`.
    private static func credential(_ entry: JSONValue, key: String, fail: (String) -> RegistryCredentialsError) throws(RegistryCredentialsError) -> RegistryCredential {
        if entry.isNull { return RegistryCredential(username: "", password: "") }
        guard entry.isObject else { throw fail("the entry for \(key) must be an object, not \(entry.typeName)") }
        func string(_ name: String) throws(RegistryCredentialsError) -> String {
            guard let value = GoJSON.field(entry, name), !value.isNull else { return "" }
            guard let text = value.string else { throw fail("the \"\(name)\" of \(key) must be a string, not \(value.typeName)") }
            return text
        }
        let username = try string("username")
        let password = try string("password")
        _ = try string("email")
        let auth = try string("auth")
        if auth.isEmpty { return RegistryCredential(username: username, password: password) }
        let decoded: [UInt8]
        do {
            decoded = try GoBase64.decode(auth, padded: auth.trimmingWhitespace().hasSuffix("="))
        } catch {
            throw fail(error.description)
        }
        guard let colon = decoded.firstIndex(of: UInt8(ascii: ":")) else {
            throw fail("unable to parse auth field, must be formatted as base64(username:password)")
        }
        return RegistryCredential(
            username: String(decoding: decoded[..<colon], as: UTF8.self),
            password: String(decoding: decoded[(colon + 1)...], as: UTF8.self))
    }

    /// Reads a config file (`--registry-auth-file`).
    public static func load(path: String, format: ConfigFormat = .automatic) throws(RegistryCredentialsError) -> DockerKeyring {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RegistryCredentialsError(source: path, reason: "cannot read the file")
        }
        return try parse(Array(data), format: format, source: path)
    }
}

/// A credentials file or payload that cannot be used. Never contains secrets.
public struct RegistryCredentialsError: Error, Sendable, Equatable, CustomStringConvertible {
    public var source: String
    public var reason: String

    public init(source: String, reason: String) {
        self.source = source
        self.reason = reason
    }

    public var description: String { "\(source): \(reason)" }
}

extension String {
    /// `strings.TrimSpace` for the ASCII white space a config holds.
    func trimmingWhitespace() -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\u{0B}" || $0 == "\u{0C}" }
        var text = Substring(self)
        while let first = text.first, isSpace(first) { text.removeFirst() }
        while let last = text.last, isSpace(last) { text.removeLast() }
        return text
    }
}
