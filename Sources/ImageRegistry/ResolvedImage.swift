public import ImageConfig
public import ImageResolution

/// What the registry says about an image: its digest and the USER of each platform.
public struct ResolvedImage: Sendable, Equatable {
    public var reference: ImageReference
    /// The digest of the manifest or index the reference points at.
    public var digest: String
    /// One entry per platform evaluated, in the index's order.
    public var variants: [ResolvedVariant]
    /// Whether the digest names an index (several platforms) rather than one image manifest.
    public var isIndex: Bool
    /// Platforms of the index past `maximumIndexEntries`, in index order: not fetched, never judged.
    public var unevaluatedPlatforms: [Platform] = []
    /// The bound that left `unevaluatedPlatforms` out.
    public var indexEntryLimit = RegistryConfiguration.defaultMaximumIndexEntries

    public init(reference: ImageReference, digest: String, variants: [ResolvedVariant], isIndex: Bool, unevaluatedPlatforms: [Platform] = [], indexEntryLimit: Int = RegistryConfiguration.defaultMaximumIndexEntries) {
        self.reference = reference
        self.digest = digest
        self.variants = variants
        self.isIndex = isIndex
        self.unevaluatedPlatforms = unevaluatedPlatforms
        self.indexEntryLimit = indexEntryLimit
    }

    /// The lookup the policy reads: `config.User` per platform, "" and a missing key meaning no USER.
    /// Platforms are named only for an index, where they can disagree. Platforms left unevaluated are
    /// unresolved platforms: a pod whose node OS could run one of them is unresolved, others are judged.
    public var lookup: ImageUserLookup {
        let found = variants.map { ImageUserVariant(user: ImageUser(configUser: $0.user ?? ""), platform: isIndex ? $0.platform?.description : nil) }
        guard let reason = unevaluatedReason else { return .found(found) }
        return .partlyFound(found, unevaluated: unevaluatedPlatforms.map(\.description), reason: reason)
    }

    /// Why some platforms were not evaluated, naming the bound; nil when all were.
    public var unevaluatedReason: String? {
        guard !unevaluatedPlatforms.isEmpty else { return nil }
        let shown = unevaluatedPlatforms.prefix(8).map(\.description).joined(separator: ", ")
        let more = unevaluatedPlatforms.count > 8 ? " and \(unevaluatedPlatforms.count - 8) more" : ""
        return "the image index lists \(variants.count + unevaluatedPlatforms.count) platforms to evaluate, more than the \(indexEntryLimit) evaluated per image; not evaluated: \(shown)\(more)"
    }
}

/// One platform of a resolved image.
public struct ResolvedVariant: Sendable, Equatable {
    public var platform: Platform?
    /// `config.User`, nil when the key or the whole `config` object is missing.
    public var user: String?
    public var manifestDigest: String
    public var configDigest: String
}

extension ResolvedImage {
    /// The same result, reported for the reference the caller asked about.
    func with(_ reference: ImageReference) -> ResolvedImage {
        var copy = self
        copy.reference = reference
        return copy
    }
}
