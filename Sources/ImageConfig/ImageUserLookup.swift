/// What image resolution knows about one image.
public enum ImageUserLookup: Sendable, Equatable {
    /// The user of each platform variant. One variant, with no platform, for a catalog entry.
    case found([ImageUserVariant])
    /// The user could not be determined; `reason` says why (not in the catalog, registry error, ...).
    case unresolved(reason: String)
    /// The users of some platforms; those of `unevaluated` (`os/arch[/variant]`, an index's entries past
    /// a bound) are not known, for `reason`. A pod is unresolved only on the OSes of those platforms.
    case partlyFound([ImageUserVariant], unevaluated: [String], reason: String)

    public static func found(_ user: ImageUser) -> ImageUserLookup { .found([ImageUserVariant(user: user)]) }
}

/// The user of one platform of an image.
public struct ImageUserVariant: Sendable, Hashable {
    public var user: ImageUser
    /// `os/arch[/variant]`, or nil when the source does not say (a catalog entry).
    public var platform: String?

    public init(user: ImageUser, platform: String? = nil) {
        self.user = user
        self.platform = platform
    }
}
