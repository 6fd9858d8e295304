/// Why a registry lookup gave no answer. Each description is written for the warning a user reads,
/// and never contains credentials or tokens.
public enum RegistryError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidReference(String)
    /// The registry is not in `--registry-allowlist`.
    case notAllowed(registry: String)
    /// The host resolves to an address the SSRF policy refuses.
    case refusedAddress(host: String, address: String, why: String)
    case dns(host: String, reason: String)
    /// Plain HTTP to a host not named by `--registry-allow-insecure`, or a redirect to it.
    case insecureRefused(url: String)
    /// The registry asked for credentials over plain HTTP.
    case credentialsOverHTTP(host: String)
    /// The registry or token server refused access.
    case unauthorized(host: String, detail: String)
    /// A status other than success: `429`, `5xx`, `404`, ...
    case status(code: UInt, phrase: String, request: String, detail: String, retryAfter: String?)
    case tooLarge(what: String, limit: Int)
    case digestMismatch(what: String, expected: String, actual: String)
    case document(what: String, reason: String)
    /// An index lists no manifest for the platforms asked for.
    case noPlatform(wanted: String, available: String)
    case tooManyRedirects(limit: Int)
    /// The lookup did not finish in time.
    case timeout(after: Duration)
    case transport(host: String, reason: String)
    /// A global limit was reached and no room came free before the deadline.
    case busy(RegistryLimit)
    /// Every credential that matched the image was refused; `last` is the last refusal.
    indirect case everyCredentialRefused(sources: [String], last: RegistryError)
    /// A kubelet image credential provider plugin failed or timed out.
    case credentialProvider(name: String, reason: String)
    /// The lookup went on without the credentials of failed plugins (`failures`), and failed with `then`.
    indirect case withoutCredentialProviders(failures: [RegistryError], then: RegistryError)

    public var description: String {
        switch self {
        case .invalidReference(let reason):
            return reason
        case .notAllowed(let registry):
            return "registry \(registry) is not in --registry-allowlist"
        case .refusedAddress(let host, let address, let why):
            let subject = IPAddress(host) == nil ? "registry host \(host) resolves to \(address), \(why)" : "registry address \(address) is \(why)"
            return "\(subject); lookups there need --registry-allow-private"
        case .dns(let host, let reason):
            return "cannot resolve registry host \(host): \(reason)"
        case .insecureRefused(let url):
            return "refusing plain HTTP to \(url); name the registry in --registry-allow-insecure to allow it"
        case .credentialsOverHTTP(let host):
            return "registry \(host) asks for credentials over plain HTTP; they are never sent unencrypted"
        case .unauthorized(let host, let detail):
            return "registry \(host) refused access: \(detail)"
        case .status(let code, let phrase, let request, let detail, let retryAfter):
            var text = "registry answered \(code) \(phrase) to \(request)"
            if !detail.isEmpty { text += ": \(detail)" }
            if let retryAfter { text += " (Retry-After: \(retryAfter))" }
            return text
        case .tooLarge(let what, let limit):
            return "\(what) is larger than \(RegistryLimit.format(bytes: limit)), the most read for one registry document"
        case .digestMismatch(let what, let expected, let actual):
            return "\(what) \(expected) does not match its digest: the body hashes to \(actual)"
        case .document(let what, let reason):
            return "\(what): \(reason)"
        case .noPlatform(let wanted, let available):
            return "the image index has no manifest for \(wanted) (it lists \(available.isEmpty ? "none" : available))"
        case .tooManyRedirects(let limit):
            return "more than \(limit) redirects"
        case .timeout(let after):
            return "registry lookup timed out after \(RegistryError.format(after))"
        case .transport(let host, let reason):
            return "cannot reach registry \(host): \(reason)"
        case .busy(let limit):
            return "registry lookups are busy: \(limit); no room came free before the lookup's deadline"
        case .everyCredentialRefused(let sources, let last):
            var counts: [(String, Int)] = []
            for source in sources {
                if let index = counts.firstIndex(where: { $0.0 == source }) { counts[index].1 += 1 } else { counts.append((source, 1)) }
            }
            let tried = counts.map { $0.1 == 1 ? $0.0 : "\($0.0) (\($0.1))" }.joined(separator: ", ")
            return "every credential was refused (\(sources.count) tried, from \(tried)); the last: \(last)"
        case .credentialProvider(let name, let reason):
            return "credential provider plugin \(name) failed: \(reason)"
        case .withoutCredentialProviders(let failures, let then):
            return failures.map(\.description).joined(separator: "; ") + "; without \(failures.count == 1 ? "its" : "their") credentials: \(then)"
        }
    }

    static func format(_ duration: Duration) -> String {
        // To 10 ms: a budget measured a moment after it was set reads 1500ms, not 1499ms.
        let exact = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        let milliseconds = (exact + 5) / 10 * 10
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000)s" : "\(milliseconds)ms"
    }
}

/// The global limits on registry lookups a lookup can wait for.
public enum RegistryLimit: Sendable, Hashable, CustomStringConvertible {
    /// `--registry-max-concurrent-fetches`.
    case fetches(Int)
    /// `--registry-max-bytes-in-flight`.
    case bytes(Int)

    public var description: String {
        switch self {
        case .fetches(let count):
            "\(count) \(count == 1 ? "request" : "requests") in flight, the most allowed (--registry-max-concurrent-fetches)"
        case .bytes(let count):
            "\(RegistryLimit.format(bytes: count)) of responses held, the most allowed (--registry-max-bytes-in-flight)"
        }
    }

    var label: String {
        switch self {
        case .fetches: "fetches"
        case .bytes: "bytes"
        }
    }

    /// `32 MiB`, `512 KiB`, or bytes when not a whole number of either.
    static func format(bytes: Int) -> String {
        if bytes >= 1 << 20, bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
        if bytes >= 1 << 10, bytes % (1 << 10) == 0 { return "\(bytes >> 10) KiB" }
        return "\(bytes) bytes"
    }
}
