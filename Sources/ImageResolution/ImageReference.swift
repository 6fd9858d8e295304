// Container image references, parsed and normalised the way container runtimes do it:
// the grammar of `github.com/distribution/reference`, its `ParseNormalizedNamed`
// (default registry, `library/` prefix) and `TagNameOnly` (default `latest` tag).
//
//     reference        := name [ ":" tag ] [ "@" digest ]
//     name             := [ domain "/" ] path
//     domain           := host [ ":" port ]
//     host             := domain-name | "[" ipv6 "]"
//     domain-name      := domain-component ( "." domain-component )*
//     domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
//     ipv6             := [a-fA-F0-9:]+
//     port             := [0-9]+
//     path             := path-component ( "/" path-component )*
//     path-component   := [a-z0-9]+ ( ( [._] | "__" | "-"+ ) [a-z0-9]+ )*
//     tag              := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
//     digest           := algorithm ":" [0-9a-fA-F]{32,}
//     algorithm        := [a-z][a-z0-9]* ( [-_+.] [a-z][a-z0-9]* )*   (the grammar allows A-Z; go-digest does not)
//
// The scanner works on UTF-8 bytes, never traps, and makes a constant number of passes over
// the input, so parsing is linear in its length.

/// A container image reference, normalised as containerd does: `nginx` → `docker.io/library/nginx:latest`.
public struct ImageReference: Sendable, Hashable, CustomStringConvertible {
    /// The registry host and optional port: `docker.io`, `ghcr.io`, `localhost:5000`, `[::1]:5000`.
    public var registry: String
    /// The path within the registry: `library/nginx`, `acme/api`.
    public var repository: String
    /// The tag; `latest` is filled in when the text gives neither a tag nor a digest.
    public var tag: String?
    /// The content digest, such as `sha256:` followed by 64 lowercase hexadecimal digits.
    public var digest: String?

    /// Parses and normalises `text`, as `ParseNormalizedNamed` followed by `TagNameOnly` does.
    ///
    /// - Throws: `ImageReferenceError` when `text` is not a valid image reference.
    public init(parsing text: String) throws(ImageReferenceError) {
        let bytes = Array(text.utf8)
        func failure(_ reason: String) -> ImageReferenceError {
            ImageReferenceError(reference: text, reason: reason)
        }

        guard !bytes.isEmpty else { throw failure(Reason.empty) }
        guard !bytes.contains(where: ASCII.isWhitespace) else { throw failure(Reason.whitespace) }
        if bytes.count == Grammar.imageIDLength, bytes.allSatisfy(ASCII.isLowercaseHexDigit) {
            throw failure(Reason.imageID)
        }

        // `@digest` is split off at the last `@`, then `:tag` at the last `:` after the last `/`.
        var nameEnd = bytes.count
        var digestRange: Range<Int>?
        if let at = bytes.lastIndex(of: ASCII.at) {
            digestRange = (at + 1)..<nameEnd
            nameEnd = at
        }
        var tagRange: Range<Int>?
        let lastSlash = bytes[..<nameEnd].lastIndex(of: ASCII.slash) ?? -1
        if let colon = bytes[..<nameEnd].lastIndex(of: ASCII.colon), colon > lastSlash {
            tagRange = (colon + 1)..<nameEnd
            nameEnd = colon
        }
        let nameRange = 0..<nameEnd

        // splitDockerDomain: the first component names a registry only if it looks like a host.
        var registry = Grammar.defaultRegistry
        var repository: String
        if let slash = bytes[nameRange].firstIndex(of: ASCII.slash),
           Grammar.looksLikeDomain(bytes, 0..<slash) {
            let domainRange = 0..<slash
            let pathRange = (slash + 1)..<nameEnd
            guard !ASCII.containsUppercase(bytes, pathRange) else { throw failure(Reason.uppercase) }
            if Grammar.isDomain(bytes, domainRange), Grammar.isPath(bytes, pathRange) {
                let domain = ASCII.string(bytes, domainRange)
                registry = domain == Grammar.legacyDefaultRegistry ? Grammar.defaultRegistry : domain
            } else if Grammar.isPath(bytes, nameRange) {
                // Not a host, yet the whole name is a valid path (`a_b.c/app`): distribution/reference
                // keeps such a name without a domain, and containerd then treats its first component
                // as the host to pull from. Keep it as the registry so the name round-trips unchanged.
                registry = ASCII.string(bytes, domainRange)
            } else if Grammar.isPath(bytes, nameRange, foldingCase: true) {
                throw failure(Reason.uppercase)
            } else {
                throw failure(Reason.format)
            }
            repository = ASCII.string(bytes, pathRange)
        } else {
            guard !ASCII.containsUppercase(bytes, nameRange) else { throw failure(Reason.uppercase) }
            guard Grammar.isPath(bytes, nameRange) else { throw failure(Reason.format) }
            repository = ASCII.string(bytes, nameRange)
        }
        if registry == Grammar.defaultRegistry, !repository.utf8.contains(ASCII.slash) {
            repository = Grammar.officialRepositoryPrefix + repository
        }

        if let tagRange {
            guard Grammar.isTag(bytes, tagRange) else { throw failure(Reason.tag) }
        }
        if let digestRange {
            guard Grammar.isDigest(bytes, digestRange) else { throw failure(Reason.digest) }
        }
        guard registry.utf8.count + 1 + repository.utf8.count <= Grammar.maximumNameLength else {
            throw failure(Reason.tooLong)
        }

        self.registry = registry
        self.repository = repository
        self.digest = digestRange.map { ASCII.string(bytes, $0) }
        self.tag = tagRange.map { ASCII.string(bytes, $0) }
            ?? (digestRange == nil ? Grammar.defaultTag : nil)
    }

    /// The registry and repository: `docker.io/library/nginx`.
    public var name: String { registry + "/" + repository }

    /// The fully normalised reference: `name[:tag][@digest]`.
    public var description: String {
        var text = name
        if let tag { text += ":" + tag }
        if let digest { text += "@" + digest }
        return text
    }
}

/// The error thrown when text is not a valid container image reference.
public struct ImageReferenceError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The text that failed to parse.
    public var reference: String
    /// Why it failed, such as `invalid tag` or `repository name must be lowercase`.
    public var reason: String

    /// Creates an error for `reference` failing for `reason`.
    public init(reference: String, reason: String) {
        self.reference = reference
        self.reason = reason
    }

    /// `invalid image reference "<reference>": <reason>`.
    public var description: String { "invalid image reference \"\(reference)\": \(reason)" }
}

// The scanner's helpers are nested in `ImageReference` so that they cannot clash with other
// declarations in the module.
extension ImageReference {
    // MARK: - Reasons

    private enum Reason {
        static let empty = "reference is empty"
        static let whitespace = "reference must not contain whitespace"
        static let imageID = "reference is a bare 64-character image ID, not a repository name"
        static let format = "invalid reference format"
        static let uppercase = "repository name must be lowercase"
        static let tag = "invalid tag"
        static let digest = "invalid digest"
        static let tooLong = "repository name must not be longer than \(Grammar.maximumNameLength) characters"
    }

    // MARK: - Grammar

    private enum Grammar {
        static let defaultRegistry = "docker.io"
        static let legacyDefaultRegistry = "index.docker.io"
        static let officialRepositoryPrefix = "library/"
        static let defaultTag = "latest"
        static let maximumNameLength = 255
        static let maximumTagLength = 128
        static let minimumDigestHexLength = 32
        static let imageIDLength = 64

        /// splitDockerDomain's test: contains `.` or `:`, is `localhost`, or has an uppercase letter.
        static func looksLikeDomain(_ bytes: [UInt8], _ range: Range<Int>) -> Bool {
            bytes[range].contains { $0 == ASCII.dot || $0 == ASCII.colon || ASCII.isUppercaseLetter($0) }
                || bytes[range].elementsEqual("localhost".utf8)
        }

        /// `host [":" port]`, where host is a dotted domain name or a bracketed IPv6 literal.
        static func isDomain(_ bytes: [UInt8], _ range: Range<Int>) -> Bool {
            var index = range.lowerBound
            let end = range.upperBound
            guard index < end else { return false }
            if bytes[index] == ASCII.leftBracket {
                index += 1
                let start = index
                while index < end, ASCII.isHexDigit(bytes[index]) || bytes[index] == ASCII.colon { index += 1 }
                guard index > start, index < end, bytes[index] == ASCII.rightBracket else { return false }
                index += 1
            } else {
                // One or more components separated by single dots; each starts and ends alphanumeric.
                while true {
                    guard index < end, ASCII.isAlphanumeric(bytes[index]) else { return false }
                    var last = bytes[index]
                    index += 1
                    while index < end, ASCII.isAlphanumeric(bytes[index]) || bytes[index] == ASCII.hyphen {
                        last = bytes[index]
                        index += 1
                    }
                    guard last != ASCII.hyphen else { return false }
                    guard index < end, bytes[index] == ASCII.dot else { break }
                    index += 1
                }
            }
            if index == end { return true }
            guard bytes[index] == ASCII.colon else { return false }
            index += 1
            guard index < end else { return false }
            return bytes[index..<end].allSatisfy(ASCII.isDigit)
        }

        /// `path-component ("/" path-component)*`; with `foldingCase`, uppercase letters count as lowercase.
        static func isPath(_ bytes: [UInt8], _ range: Range<Int>, foldingCase: Bool = false) -> Bool {
            var index = range.lowerBound
            let end = range.upperBound
            func isAtom(_ byte: UInt8) -> Bool {
                ASCII.isLowercaseAlphanumeric(foldingCase ? ASCII.lowercased(byte) : byte)
            }
            while true {
                // path-component := alphanumeric (separator alphanumeric)*
                guard index < end, isAtom(bytes[index]) else { return false }
                while index < end, isAtom(bytes[index]) { index += 1 }
                while index < end, bytes[index] != ASCII.slash {
                    switch bytes[index] {
                    case ASCII.dot:
                        index += 1
                    case ASCII.underscore:
                        index += 1
                        if index < end, bytes[index] == ASCII.underscore { index += 1 }
                    case ASCII.hyphen:
                        while index < end, bytes[index] == ASCII.hyphen { index += 1 }
                    default:
                        return false
                    }
                    guard index < end, isAtom(bytes[index]) else { return false }
                    while index < end, isAtom(bytes[index]) { index += 1 }
                }
                guard index < end else { return true }
                index += 1  // the `/`; the next component must not be empty
            }
        }

        /// `[\w][\w.-]{0,127}`.
        static func isTag(_ bytes: [UInt8], _ range: Range<Int>) -> Bool {
            guard let first = range.first, range.count <= maximumTagLength,
                  ASCII.isWordCharacter(bytes[first]) else { return false }
            return bytes[range].allSatisfy { ASCII.isWordCharacter($0) || $0 == ASCII.dot || $0 == ASCII.hyphen }
        }

        /// `algorithm ":" hex{32,}`, with exact lowercase encodings for the algorithms runtimes register.
        static func isDigest(_ bytes: [UInt8], _ range: Range<Int>) -> Bool {
            guard let colon = bytes[range].firstIndex(of: ASCII.colon) else { return false }
            let algorithm = range.lowerBound..<colon
            let encoded = (colon + 1)..<range.upperBound

            // algorithm := component ([-_+.] component)*, component := [a-z][a-z0-9]*. The reference
            // grammar also allows uppercase letters, but go-digest (and ParseNormalizedNamed's lowercase
            // check) rejects them, so no runtime accepts them.
            var index = algorithm.lowerBound
            while true {
                guard index < algorithm.upperBound, ASCII.isLowercaseLetter(bytes[index]) else { return false }
                index += 1
                while index < algorithm.upperBound, ASCII.isLowercaseAlphanumeric(bytes[index]) { index += 1 }
                guard index < algorithm.upperBound else { break }
                switch bytes[index] {
                case ASCII.hyphen, ASCII.underscore, ASCII.plus, ASCII.dot: index += 1
                default: return false
                }
            }
            guard encoded.count >= minimumDigestHexLength,
                  bytes[encoded].allSatisfy(ASCII.isHexDigit) else { return false }

            // go-digest validates the algorithms runtimes register strictly: exact length, lowercase hex.
            let expectedLength: Int
            switch ASCII.string(bytes, algorithm) {
            case "sha256": expectedLength = 64
            case "sha384": expectedLength = 96
            case "sha512": expectedLength = 128
            default: return true
            }
            return encoded.count == expectedLength && bytes[encoded].allSatisfy(ASCII.isLowercaseHexDigit)
        }
    }

    // MARK: - ASCII

    private enum ASCII {
        static let at = UInt8(ascii: "@")
        static let colon = UInt8(ascii: ":")
        static let slash = UInt8(ascii: "/")
        static let dot = UInt8(ascii: ".")
        static let hyphen = UInt8(ascii: "-")
        static let underscore = UInt8(ascii: "_")
        static let plus = UInt8(ascii: "+")
        static let leftBracket = UInt8(ascii: "[")
        static let rightBracket = UInt8(ascii: "]")

        static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
        static func isUppercaseLetter(_ byte: UInt8) -> Bool { byte >= 0x41 && byte <= 0x5A }
        static func isLowercaseLetter(_ byte: UInt8) -> Bool { byte >= 0x61 && byte <= 0x7A }
        static func isLetter(_ byte: UInt8) -> Bool { isUppercaseLetter(byte) || isLowercaseLetter(byte) }
        static func isAlphanumeric(_ byte: UInt8) -> Bool { isLetter(byte) || isDigit(byte) }
        static func isLowercaseAlphanumeric(_ byte: UInt8) -> Bool { isLowercaseLetter(byte) || isDigit(byte) }
        static func isWordCharacter(_ byte: UInt8) -> Bool { isAlphanumeric(byte) || byte == underscore }
        static func isLowercaseHexDigit(_ byte: UInt8) -> Bool { isDigit(byte) || (byte >= 0x61 && byte <= 0x66) }
        static func isHexDigit(_ byte: UInt8) -> Bool { isLowercaseHexDigit(byte) || (byte >= 0x41 && byte <= 0x46) }

        /// Space, tab, line feed, vertical tab, form feed and carriage return.
        static func isWhitespace(_ byte: UInt8) -> Bool { byte == 0x20 || (byte >= 0x09 && byte <= 0x0D) }

        static func lowercased(_ byte: UInt8) -> UInt8 { isUppercaseLetter(byte) ? byte + 0x20 : byte }

        static func containsUppercase(_ bytes: [UInt8], _ range: Range<Int>) -> Bool {
            bytes[range].contains(where: isUppercaseLetter)
        }

        static func string(_ bytes: [UInt8], _ range: Range<Int>) -> String {
            String(decoding: bytes[range], as: UTF8.self)
        }
    }
}
