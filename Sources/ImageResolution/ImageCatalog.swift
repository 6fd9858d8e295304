public import ImageConfig
import YAML

/// A file that maps image references to their config `User`, for offline and air-gapped use:
///
///     images:
///       nginx:1.27: ""
///       mcr.microsoft.com/dotnet/samples:aspnetapp: app
///       ghcr.io/acme/api@sha256:<hex>: "64198"
///       ghcr.io/acme/multi:1.0@sha256:<hex>:   # one USER per platform, as `replay --write-images` writes
///         linux/amd64: "1000"
///         linux/arm64/v8: "0"
///
/// Keys are normalised like pod images. A pod image pinned by digest also matches a key with the
/// same repository and digest, and a tagged pod image matches a key with the same repository and
/// tag, with or without a digest.
public struct ImageCatalog: Sendable {
    // Values are stored as finished lookups so that a hit allocates nothing.
    private var byReference: [String: ImageUserLookup] = [:]
    private var byDigest: [String: ImageUserLookup] = [:]
    private var byTag: [String: ImageUserLookup] = [:]
    /// Lookups by the exact text a pod uses skip parsing, and SipHash.
    private var byText = ImageTextIndex<ImageUserLookup>()

    /// The number of entries.
    public private(set) var count = 0

    public init() {}

    /// A catalog of `(reference, config User)` pairs; later duplicates win.
    public init(entries: [(reference: String, user: String)]) throws(ImageCatalogError) {
        for (reference, user) in entries {
            let parsed: ImageReference
            do {
                parsed = try ImageReference(parsing: reference)
            } catch {
                throw ImageCatalogError(source: nil, line: nil, reason: "key \(goQuote(reference)): \(error.reason)")
            }
            add(parsed, text: reference, user: ImageUser(configUser: user))
        }
    }

    /// Adds or replaces the entry for `reference`.
    public mutating func add(_ reference: ImageReference, text: String? = nil, user: ImageUser) {
        add(reference, text: text, lookup: .found(user))
    }

    /// Adds or replaces the entry for `reference` with one USER per platform.
    public mutating func add(_ reference: ImageReference, text: String? = nil, variants: [ImageUserVariant]) {
        add(reference, text: text, lookup: .found(variants))
    }

    private mutating func add(_ reference: ImageReference, text: String?, lookup user: ImageUserLookup) {
        count += 1
        byReference[reference.description] = user
        if let digest = reference.digest { byDigest[reference.name + "@" + digest] = user }
        if let tag = reference.tag { byTag[reference.name + ":" + tag] = user }
        if let text { byText.set(user, for: text) }
    }

    /// What the catalog says about a pod's image.
    public func lookup(_ image: String) -> ImageUserLookup {
        if let found = byText[image] { return found }
        let reference: ImageReference
        do {
            reference = try ImageReference(parsing: image)
        } catch {
            return .unresolved(reason: error.reason)
        }
        if let found = byReference[reference.description] { return found }
        if let digest = reference.digest, let found = byDigest[reference.name + "@" + digest] { return found }
        if reference.digest == nil, let tag = reference.tag, let found = byTag[reference.name + ":" + tag] { return found }
        return .unresolved(reason: "not in the image catalog")
    }

    /// Parses catalog text, YAML or JSON. Values are read as written, never as YAML numbers, so
    /// `1000:1000` stays a string (YAML 1.1 would read some `a:b` forms as base-60 integers).
    public static func parse(_ text: String, source: String? = nil) throws(ImageCatalogError) -> ImageCatalog {
        let root: YAMLNode?
        do {
            root = try YAMLParser.singleDocument(in: text.utf8)
        } catch {
            throw ImageCatalogError(source: source, line: error.mark?.line, reason: "not valid YAML or JSON: \(error)")
        }
        guard let root, root.pairs != nil else {
            throw ImageCatalogError(source: source, line: nil, reason: #"expected a mapping with an "images" key"#)
        }
        guard let images = root["images"] else {
            throw ImageCatalogError(source: source, line: root.mark.line, reason: #"missing the "images" key"#)
        }
        if let (text, style) = images.scalar, style == .plain, ["", "null", "~"].contains(text) {
            return ImageCatalog()
        }
        guard let entries = images.pairs else {
            throw ImageCatalogError(source: source, line: images.mark.line, reason: #""images" must map image references to USER strings"#)
        }
        var catalog = ImageCatalog()
        for entry in entries {
            guard let (keyText, _) = entry.key.scalar else {
                throw ImageCatalogError(source: source, line: entry.key.mark.line, reason: "an image reference key must be a string")
            }
            let reference: ImageReference
            do {
                reference = try ImageReference(parsing: keyText)
            } catch {
                throw ImageCatalogError(source: source, line: entry.key.mark.line, reason: "key \(goQuote(keyText)): \(error.reason)")
            }
            let value = entry.value
            if let user = value.scalar {
                catalog.add(reference, text: keyText, user: ImageUser(configUser: userText(user)))
            } else if let platforms = value.pairs, !platforms.isEmpty {
                var variants: [ImageUserVariant] = []
                for platform in platforms {
                    let parts = platform.key.scalar?.text.lowercased().split(separator: "/", omittingEmptySubsequences: false) ?? []
                    guard let user = platform.value.scalar, (2...3).contains(parts.count), parts.allSatisfy({ !$0.isEmpty }) else {
                        throw ImageCatalogError(source: source, line: platform.key.mark.line, reason: "the USERs of \(goQuote(keyText)) must map os/arch[/variant] to strings")
                    }
                    variants.append(ImageUserVariant(user: ImageUser(configUser: userText(user)), platform: parts.joined(separator: "/")))
                }
                catalog.add(reference, text: keyText, variants: variants)
            } else {
                throw ImageCatalogError(source: source, line: value.mark.line, reason: "the USER of \(goQuote(keyText)) must be a string, or a mapping of platforms to strings")
            }
        }
        return catalog
    }
}

/// A plain `null` or `~` means no USER, as "" does.
private func userText(_ scalar: (text: String, style: YAMLScalarStyle)) -> String {
    scalar.style == .plain && ["null", "~", "Null", "NULL"].contains(scalar.text) ? "" : scalar.text
}

/// A catalog file that cannot be used, and where.
public struct ImageCatalogError: Error, Sendable, CustomStringConvertible {
    public var source: String?
    public var line: Int?
    public var reason: String

    public init(source: String?, line: Int?, reason: String) {
        self.source = source
        self.line = line
        self.reason = reason
    }

    public var description: String {
        var location = source ?? "image catalog"
        if let line { location += ":\(line)" }
        return "\(location): \(reason)"
    }
}
