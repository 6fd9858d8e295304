/// An absolute http(s) URL, split the way the client needs it: origin for credentials, host for
/// the address checks, and the path with its query.
struct RegistryURL: Sendable, Hashable, CustomStringConvertible {
    var isSecure: Bool
    /// The host as written, without brackets for IPv6.
    var host: String
    var port: Int
    /// Starts with `/`; includes the query.
    var pathAndQuery: String

    init(isSecure: Bool, host: String, port: Int?, pathAndQuery: String) {
        self.isSecure = isSecure
        self.host = host.lowercased()
        self.port = port ?? (isSecure ? 443 : 80)
        self.pathAndQuery = pathAndQuery.hasPrefix("/") ? pathAndQuery : "/" + pathAndQuery
    }

    /// The URL of a registry API path: `https://host/v2/...`, or http for an insecure registry.
    init(registry: String, secure: Bool, path: String) {
        // Registry names come from parsed image references, so the strict parse succeeds; the
        // fallback only keeps a malformed name from being dropped silently.
        let (host, port) = RegistryURL.parseAuthority(registry) ?? (registry, nil)
        self.init(isSecure: secure, host: host, port: port, pathAndQuery: path)
    }

    /// Parses an absolute URL; nil for other schemes or malformed ones.
    init?(absolute text: String) {
        let lower = text.lowercased()
        let secure: Bool
        let rest: Substring
        if lower.hasPrefix("https://") {
            secure = true
            rest = text.dropFirst(8)
        } else if lower.hasPrefix("http://") {
            secure = false
            rest = text.dropFirst(7)
        } else {
            return nil
        }
        let end = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[..<end]
        guard !authority.isEmpty, !authority.contains("@"), let (host, port) = RegistryURL.parseAuthority(String(authority)) else { return nil }
        var path = String(rest[end...])
        if let hash = path.firstIndex(of: "#") { path = String(path[..<hash]) }
        if path.hasPrefix("?") || path.isEmpty { path = "/" + path }
        self.init(isSecure: secure, host: host, port: port, pathAndQuery: path)
    }

    /// Resolves a `Location` header against this URL.
    func resolving(_ location: String) -> RegistryURL? {
        // A location with a scheme is absolute: if it is not an acceptable http(s) URL it is refused,
        // never read as a relative path.
        if RegistryURL.hasScheme(location) { return RegistryURL(absolute: location) }
        if location.hasPrefix("//") { return RegistryURL(absolute: (isSecure ? "https:" : "http:") + location) }
        var copy = self
        if location.hasPrefix("/") {
            copy.pathAndQuery = location
        } else {
            let path = pathAndQuery.split(separator: "?", maxSplits: 1).first.map(String.init) ?? "/"
            let directory = path.lastIndex(of: "/").map { String(path[...$0]) } ?? "/"
            copy.pathAndQuery = directory + location
        }
        return copy
    }

    /// `host:port`, with brackets for IPv6, and without the port when it is the scheme's default.
    var authority: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return port == (isSecure ? 443 : 80) ? hostPart : "\(hostPart):\(port)"
    }

    /// Scheme, host and port: credentials never cross origins.
    var origin: String { "\(isSecure ? "https" : "http")://\(host):\(port)" }

    var description: String { "\(isSecure ? "https" : "http")://\(authority)\(pathAndQuery)" }

    /// RFC 3986 `scheme ":"`: a letter, then letters, digits, `+`, `-` or `.`.
    static func hasScheme(_ text: String) -> Bool {
        guard let colon = text.firstIndex(of: ":") else { return false }
        let scheme = text[..<colon]
        guard let head = scheme.unicodeScalars.first, ("a"..."z").contains(head) || ("A"..."Z").contains(head) else { return false }
        return scheme.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "+-.".unicodeScalars.contains($0) }
    }

    /// Parses `host[:port]` or `[v6][:port]` strictly: a port is 1 to 65535 in digits; nothing else may follow.
    static func parseAuthority(_ authority: String) -> (host: String, port: Int?)? {
        func port(_ text: Substring) -> Int?? {
            guard !text.isEmpty, text.count <= 5, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let value = Int(text), (1...65535).contains(value) else { return .none }
            return .some(value)
        }
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            let host = String(authority[authority.index(after: authority.startIndex)..<close])
            guard !host.isEmpty, host.utf8.allSatisfy({ $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0 | 0x20) }) else { return nil }
            let rest = authority[authority.index(after: close)...]
            if rest.isEmpty { return (host, nil) }
            guard rest.hasPrefix(":"), let value = port(rest.dropFirst()) else { return nil }
            return (host, value)
        }
        guard !authority.contains("[") && !authority.contains("]") else { return nil }
        if let colon = authority.firstIndex(of: ":") {
            let host = String(authority[..<colon])
            guard !host.isEmpty, let value = port(authority[authority.index(after: colon)...]) else { return nil }
            return (host, value)
        }
        return authority.isEmpty ? nil : (authority, nil)
    }
}

extension String {
    /// Percent-encodes a query parameter value (RFC 3986 unreserved characters pass).
    var queryEncoded: String {
        var out = ""
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let digits = Array("0123456789ABCDEF".unicodeScalars)
                out += "%"
                out.unicodeScalars.append(digits[Int(byte >> 4)])
                out.unicodeScalars.append(digits[Int(byte & 0xF)])
            }
        }
        return out
    }
}
