/// The pieces of Go's `net/url`, `net` and `path/filepath` that the kubelet's keyring matching
/// (`pkg/credentialprovider/keyring.go`) rests on, reproduced so keys match exactly as on the node.
enum KeyringMatching {
    /// The host (with its port, case kept) and the unescaped path of `url.Parse(text)`, for the
    /// `scheme://authority/path` texts the keyring builds; nil where Go returns an error.
    static func parseURL(_ text: String) -> (host: String, path: String)? {
        let bytes = Array(text.utf8)
        // url.Parse refuses ASCII control characters anywhere.
        guard !bytes.contains(where: { $0 < 0x20 || $0 == 0x7F }) else { return nil }
        var rest = bytes[...]
        if let hash = rest.firstIndex(of: UInt8(ascii: "#")) { rest = rest[..<hash] }
        if let question = rest.firstIndex(of: UInt8(ascii: "?")) { rest = rest[..<question] }
        guard let schemeEnd = rest.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        rest = rest[(schemeEnd + 1)...]
        guard rest.starts(with: "//".utf8) else { return nil }
        rest = rest.dropFirst(2)
        var authority = rest
        var path: ArraySlice<UInt8> = []
        if let slash = rest.firstIndex(of: UInt8(ascii: "/")) {
            authority = rest[..<slash]
            path = rest[slash...]
        }
        if let at = authority.lastIndex(of: UInt8(ascii: "@")) { authority = authority[(at + 1)...] }
        guard let host = parseHost(authority), let unescapedPath = unescape(path) else { return nil }
        return (host, unescapedPath)
    }

    /// `url.parseHost`: a bracketed IPv6 literal with an optional port, or a name whose port (after
    /// the last colon) is digits; characters outside Go's host set are an error.
    private static func parseHost(_ host: ArraySlice<UInt8>) -> String? {
        if host.first == UInt8(ascii: "[") {
            guard let close = host.lastIndex(of: UInt8(ascii: "]")) else { return nil }
            guard validOptionalPort(host[(close + 1)...]) else { return nil }
        } else if let colon = host.lastIndex(of: UInt8(ascii: ":")) {
            guard validOptionalPort(host[colon...]) else { return nil }
        }
        var index = host.startIndex
        while index < host.endIndex {
            let byte = host[index]
            if byte == UInt8(ascii: "%") {
                guard index + 2 < host.endIndex, hexValue(host[index + 1]) != nil, hexValue(host[index + 2]) != nil else { return nil }
                index += 3
                continue
            }
            if byte < 0x80, !isHostCharacter(byte) { return nil }
            index += 1
        }
        return unescape(host)
    }

    private static func validOptionalPort(_ port: ArraySlice<UInt8>) -> Bool {
        guard let first = port.first else { return true }
        guard first == UInt8(ascii: ":") else { return false }
        return port.dropFirst().allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    /// The ASCII characters `shouldEscape(c, encodeHost)` lets through.
    private static func isHostCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return Array("-_.~!$&'()*+,;=:[]<>\"".utf8).contains(byte)
        }
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// `%XX` decoded; a bad escape is an error, as in `url.unescape`.
    private static func unescape(_ bytes: ArraySlice<UInt8>) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            if bytes[index] == UInt8(ascii: "%") {
                guard index + 2 < bytes.endIndex, let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2]) else { return nil }
                out.append(high << 4 | low)
                index += 3
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `net.SplitHostPort`, falling back to the whole text and no port when it fails, as
    /// `SplitURL` does; then the host's `.`-separated labels.
    static func splitHost(_ host: String) -> (labels: [Substring], port: Substring) {
        var name = Substring(host)
        var port: Substring = ""
        if host.hasPrefix("[") {
            if let close = host.firstIndex(of: "]"), host[host.index(after: close)...].first == ":" {
                let after = host[host.index(after: close)...].dropFirst()
                if !after.contains(":"), !after.contains("["), !after.contains("]") {
                    name = host[host.index(after: host.startIndex)..<close]
                    port = after
                }
            }
        } else if let colon = host.lastIndex(of: ":"), host[..<colon].firstIndex(of: ":") == nil,
                  !host.contains("["), !host.contains("]") {
            name = host[..<colon]
            port = host[host.index(after: colon)...]
        }
        return (name.split(separator: ".", omittingEmptySubsequences: false), port)
    }

    /// `URLsMatchStr(glob, target)`: both read as `https://` + text; equal ports, as many labels,
    /// the target's path starting with the glob's (a plain string prefix), each label matched with
    /// `filepath.Match`. A text Go cannot parse, or a bad pattern, matches nothing.
    static func urlsMatch(glob: String, target: String) -> Bool {
        guard let globURL = parseURL("https://" + glob), let targetURL = parseURL("https://" + target) else { return false }
        let globParts = splitHost(globURL.host)
        let targetParts = splitHost(targetURL.host)
        guard globParts.port == targetParts.port, globParts.labels.count == targetParts.labels.count,
              targetURL.path.hasPrefix(globURL.path) else { return false }
        for (pattern, label) in zip(globParts.labels, targetParts.labels) where !globMatch(pattern, label) {
            return false
        }
        return true
    }

    // MARK: - filepath.Match

    /// `filepath.Match(pattern, name)` on Unix: `*`, `?`, `[...]` (with `^` and ranges) and `\`
    /// escapes, never across `/`. A malformed pattern matches nothing.
    static func globMatch(_ pattern: some StringProtocol, _ name: some StringProtocol) -> Bool {
        var pattern = Array(pattern.unicodeScalars)[...]
        var name = Array(name.unicodeScalars)[...]
        outer: while !pattern.isEmpty {
            let (star, chunk, rest) = scanChunk(pattern)
            pattern = rest
            if star, chunk.isEmpty { return !name.contains("/") }
            let (remainder, ok, bad) = matchChunk(chunk, name)
            if ok, remainder.isEmpty || !pattern.isEmpty {
                name = remainder
                continue
            }
            if bad { return false }
            if star {
                var index = name.startIndex
                while index < name.endIndex, name[index] != "/" {
                    let (remainder, ok, bad) = matchChunk(chunk, name[(index + 1)...])
                    if ok {
                        if pattern.isEmpty, !remainder.isEmpty {
                            index += 1
                            continue
                        }
                        name = remainder
                        continue outer
                    }
                    if bad { return false }
                    index += 1
                }
            }
            return false
        }
        return name.isEmpty
    }

    private static func scanChunk(_ pattern: ArraySlice<Unicode.Scalar>) -> (Bool, ArraySlice<Unicode.Scalar>, ArraySlice<Unicode.Scalar>) {
        var pattern = pattern
        var star = false
        while pattern.first == "*" {
            pattern = pattern.dropFirst()
            star = true
        }
        var inRange = false
        var index = pattern.startIndex
        scan: while index < pattern.endIndex {
            switch pattern[index] {
            case "\\":
                if index + 1 < pattern.endIndex { index += 1 }
            case "[":
                inRange = true
            case "]":
                inRange = false
            case "*":
                if !inRange { break scan }
            default:
                break
            }
            index += 1
        }
        return (star, pattern[..<index], pattern[index...])
    }

    /// The rest of `name` after `chunk`, whether it matched, and whether the chunk is malformed.
    private static func matchChunk(_ chunk: ArraySlice<Unicode.Scalar>, _ name: ArraySlice<Unicode.Scalar>) -> (ArraySlice<Unicode.Scalar>, Bool, Bool) {
        var chunk = chunk
        var name = name
        var failed = false
        while let first = chunk.first {
            if !failed, name.isEmpty { failed = true }
            switch first {
            case "[":
                var scalar: Unicode.Scalar = "\u{0}"
                if !failed {
                    scalar = name.removeFirst()
                }
                chunk = chunk.dropFirst()
                var negated = false
                if chunk.first == "^" {
                    negated = true
                    chunk = chunk.dropFirst()
                }
                var matched = false
                var ranges = 0
                while true {
                    if chunk.first == "]", ranges > 0 {
                        chunk = chunk.dropFirst()
                        break
                    }
                    guard let low = escaped(&chunk), let next = chunk.first else { return ([], false, true) }
                    var high = low
                    if next == "-" {
                        chunk = chunk.dropFirst()
                        guard let end = escaped(&chunk), !chunk.isEmpty else { return ([], false, true) }
                        high = end
                    }
                    if low <= scalar, scalar <= high { matched = true }
                    ranges += 1
                }
                if matched == negated { failed = true }
            case "?":
                if !failed {
                    if name.first == "/" { failed = true }
                    name = name.dropFirst()
                }
                chunk = chunk.dropFirst()
            default:
                if first == "\\" {
                    chunk = chunk.dropFirst()
                    if chunk.isEmpty { return ([], false, true) }
                }
                if !failed {
                    if chunk.first != name.first { failed = true }
                    name = name.dropFirst()
                }
                chunk = chunk.dropFirst()
            }
        }
        return failed ? ([], false, false) : (name, true, false)
    }

    /// `getEsc`: one class character, `\`-escaped or not; nil for `-`, `]` or the end.
    private static func escaped(_ chunk: inout ArraySlice<Unicode.Scalar>) -> Unicode.Scalar? {
        guard let first = chunk.first, first != "-", first != "]" else { return nil }
        chunk = chunk.dropFirst()
        if first == "\\" {
            guard let next = chunk.first else { return nil }
            chunk = chunk.dropFirst()
            return next
        }
        return first
    }
}
