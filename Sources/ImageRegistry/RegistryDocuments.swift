import JSON

/// A content descriptor in a manifest or index: what to fetch, how big it is, and for which platform.
public struct Descriptor: Sendable, Hashable {
    public var mediaType: String?
    public var digest: String
    public var size: Int64
    public var platform: Platform?
}

/// An image platform: `linux/arm64/v8`.
public struct Platform: Sendable, Hashable, CustomStringConvertible {
    public var os: String
    public var architecture: String
    public var variant: String?

    public init(os: String, architecture: String, variant: String? = nil) {
        self.os = os
        self.architecture = architecture
        self.variant = variant
    }

    /// Parses `os/arch[/variant]`, the form of `--platform`.
    public init?(parsing text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard (2...3).contains(parts.count), parts.allSatisfy({ !$0.isEmpty }) else { return nil }
        self.init(os: parts[0].lowercased(), architecture: parts[1].lowercased(), variant: parts.count == 3 ? parts[2].lowercased() : nil)
    }

    public var description: String { variant.map { "\(os)/\(architecture)/\($0)" } ?? "\(os)/\(architecture)" }

    /// Whether `self`, a platform an index lists, satisfies `wanted` (a `--platform`): after
    /// `normalized`, the same os, architecture and variant, as containerd's `platforms` matcher.
    public func satisfies(_ wanted: Platform) -> Bool {
        normalized == wanted.normalized
    }

    /// containerd's `platforms.Normalize`: os and architecture lower-cased, `macos` is `darwin`, and
    /// the architecture aliases and default variants folded (`x86_64` is `amd64`, `aarch64` is
    /// `arm64`, `arm64/v8` is `arm64`, `arm` is `arm/v7`). An empty variant is nil.
    public var normalized: Platform {
        var os = self.os.lowercased()
        if os == "macos" { os = "darwin" }
        var architecture = self.architecture.lowercased()
        var variant = self.variant?.lowercased() ?? ""
        switch architecture {
        case "i386":
            architecture = "386"
            variant = ""
        case "x86_64", "x86-64", "amd64":
            architecture = "amd64"
            if variant == "v1" { variant = "" }
        case "aarch64", "arm64":
            architecture = "arm64"
            switch variant {
            case "8", "v8", "v8.0": variant = ""
            case "9", "9.0", "v9.0": variant = "v9"
            default: break
            }
        case "armhf":
            architecture = "arm"
            variant = "v7"
        case "armel":
            architecture = "arm"
            variant = "v6"
        case "arm":
            switch variant {
            case "", "7": variant = "v7"
            case "5", "6", "8": variant = "v" + variant
            default: break
            }
        default:
            break
        }
        return Platform(os: os, architecture: architecture, variant: variant.isEmpty ? nil : variant)
    }
}

/// A manifest as the registry served it, read by its `Content-Type`.
public enum RegistryManifest: Sendable, Equatable {
    /// An OCI index or Docker manifest list: one manifest per platform.
    case index([Descriptor])
    /// An OCI image manifest or Docker v2 schema 2 manifest: the config blob to read.
    case image(config: Descriptor)

    /// Parses `body`, served with `contentType`. The manifest's own `mediaType` field is optional,
    /// so the header decides; the field is only a fallback when the header is generic JSON.
    public static func parse(_ body: [UInt8], contentType: String) throws(RegistryDocumentError) -> RegistryManifest {
        let root = try RegistryDocumentError.parseObject(body, what: "manifest")
        var type = MediaType.essence(of: contentType)
        if type.isEmpty || type == "application/json" || type == "application/octet-stream" || type == "text/plain" {
            type = root["mediaType"]?.string ?? (root["manifests"] != nil ? MediaType.ociIndex : MediaType.ociManifest)
        }
        switch type {
        case MediaType.ociIndex, MediaType.dockerManifestList:
            guard let list = root["manifests"], list.isArray else {
                throw RegistryDocumentError("index has no \"manifests\" array")
            }
            var descriptors: [Descriptor] = []
            for (position, element) in list.elements.enumerated() {
                descriptors.append(try Descriptor(element, path: "manifests[\(position)]"))
            }
            return .index(descriptors)
        case MediaType.ociManifest, MediaType.dockerManifest:
            guard let config = root["config"] else {
                throw RegistryDocumentError("image manifest has no \"config\" descriptor")
            }
            return .image(config: try Descriptor(config, path: "config"))
        case "application/vnd.docker.distribution.manifest.v1+json", "application/vnd.docker.distribution.manifest.v1+prettyjws":
            throw RegistryDocumentError("the registry served a Docker schema 1 manifest, which has no config blob; push the image with a v2 or OCI manifest")
        default:
            throw RegistryDocumentError("unsupported manifest media type \"\(type)\"")
        }
    }
}

/// The parts of an image config blob that matter here.
public struct ImageConfiguration: Sendable, Equatable {
    /// `config.User`; nil when the key, or the whole `config` object, is missing.
    public var user: String?
    public var platform: Platform?

    /// Parses an image config blob (OCI `application/vnd.oci.image.config.v1+json` or Docker's).
    public static func parse(_ body: [UInt8]) throws(RegistryDocumentError) -> ImageConfiguration {
        let root = try RegistryDocumentError.parseObject(body, what: "image config")
        var user: String?
        if let config = root["config"], !config.isNull {
            guard config.isObject else { throw RegistryDocumentError("image config \"config\" is \(config.typeName), not an object") }
            if let value = config["User"], !value.isNull {
                guard let text = value.string else { throw RegistryDocumentError("image config \"config.User\" is \(value.typeName), not a string") }
                user = text
            }
        }
        var platform: Platform?
        if let os = root["os"]?.string, let architecture = root["architecture"]?.string, !os.isEmpty, !architecture.isEmpty {
            let variant = root["variant"]?.string
            platform = Platform(os: os, architecture: architecture, variant: variant?.isEmpty == false ? variant : nil)
        }
        return ImageConfiguration(user: user, platform: platform)
    }
}

/// A token endpoint's answer (Docker's token authentication specification).
public struct TokenResponse: Sendable, Equatable {
    public var token: String
    /// Seconds the token is valid; the specification's default is 60.
    public var expiresIn: Int64

    public static func parse(_ body: [UInt8]) throws(RegistryDocumentError) -> TokenResponse {
        let root = try RegistryDocumentError.parseObject(body, what: "token response")
        // Both names are in use; `token` wins when both are set, as in distribution's client.
        let token = root["token"]?.string.flatMap { $0.isEmpty ? nil : $0 } ?? root["access_token"]?.string ?? ""
        guard !token.isEmpty else { throw RegistryDocumentError("token response has neither \"token\" nor \"access_token\"") }
        guard token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw RegistryDocumentError("token response holds a token with characters not allowed in a header")
        }
        var expiresIn: Int64 = 60
        if let seconds = root["expires_in"]?.int64, seconds > 0 { expiresIn = min(seconds, 86_400) }
        return TokenResponse(token: token, expiresIn: expiresIn)
    }
}

/// A registry document that cannot be used; the reason names what is wrong.
public struct RegistryDocumentError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String

    public init(_ reason: String) { self.reason = reason }

    public var description: String { reason }

    static func parseObject(_ body: [UInt8], what: String) throws(RegistryDocumentError) -> JSONValue {
        let document: JSONDocument
        do {
            // At most one value per 2 bytes, so the tape stays within what the resolver charged for it.
            document = try JSONDocument(parsing: body, limits: JSONLimits(maximumDepth: 64, maximumBytes: 8 << 20 + 1, maximumNodes: body.count / 2 + 16))
        } catch {
            throw RegistryDocumentError("\(what) is not valid JSON: \(error)")
        }
        guard document.root.isObject else { throw RegistryDocumentError("\(what) is \(document.root.typeName), not an object") }
        return document.root
    }
}

extension Descriptor {
    init(_ value: JSONValue, path: String) throws(RegistryDocumentError) {
        guard value.isObject else { throw RegistryDocumentError("\(path) is \(value.typeName), not an object") }
        guard let digest = value["digest"]?.string else { throw RegistryDocumentError("\(path) has no \"digest\"") }
        guard ContentDigest(digest) != nil else { throw RegistryDocumentError("\(path).digest \"\(digest)\" is not a sha256 or sha512 digest") }
        self.digest = digest
        self.mediaType = value["mediaType"]?.string
        self.size = value["size"]?.int64 ?? -1
        if let platform = value["platform"], platform.isObject,
           let os = platform["os"]?.string, let architecture = platform["architecture"]?.string {
            let variant = platform["variant"]?.string
            self.platform = Platform(os: os, architecture: architecture, variant: variant?.isEmpty == false ? variant : nil)
        } else {
            self.platform = nil
        }
    }
}
