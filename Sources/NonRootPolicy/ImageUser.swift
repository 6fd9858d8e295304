/// The user an image's config declares, as the container runtime reports it to the kubelet over CRI.
///
/// containerd and CRI-O turn the config `User` string into a uid or a username with the same
/// `getUserFromImage`; this type is its result.
public enum ImageUser: Sendable, Hashable, CustomStringConvertible {
    /// No USER: CRI reports neither uid nor username, and the kubelet falls back to uid 0.
    case unset
    /// A numeric user (the part before `:`), as Go's `strconv.ParseInt(s, 10, 64)` reads it.
    case uid(Int64)
    /// A non-numeric user, such as `root` or `app`.
    case name(String)

    /// Parses an image config `User` string exactly as containerd's and CRI-O's `getUserFromImage`.
    public init(configUser user: String) {
        if user.isEmpty {
            self = .unset
            return
        }
        // strings.Split(user, ":")[0]
        let first = user.utf8.firstIndex(of: UInt8(ascii: ":")).map { String(user[..<$0]) } ?? user
        if let uid = ImageUser.parseGoInt64(first) {
            self = .uid(uid)
        } else if first.isEmpty {
            // ParseInt("") fails and the username is "": CRI reports nothing, so the kubelet assumes root.
            self = .unset
        } else {
            self = .name(first)
        }
    }

    /// `strconv.ParseInt(s, 10, 64)`: an optional sign, then ASCII digits only; nil on overflow.
    static func parseGoInt64(_ text: String) -> Int64? {
        var bytes = Substring(text).utf8[...]
        var negative = false
        if let sign = bytes.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
            negative = sign == UInt8(ascii: "-")
            bytes = bytes.dropFirst()
        }
        guard !bytes.isEmpty else { return nil }
        var magnitude: UInt64 = 0
        for byte in bytes {
            let digit = byte &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (times10, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(digit))
            if o1 || o2 { return nil }
            magnitude = sum
        }
        if negative {
            if magnitude == UInt64(Int64.max) + 1 { return .min }
            return magnitude <= UInt64(Int64.max) ? -Int64(magnitude) : nil
        }
        return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
    }

    public var description: String {
        switch self {
        case .unset: "no USER"
        case .uid(let uid): "USER \(uid)"
        case .name(let name): "USER \(name)"
        }
    }
}

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

    /// Whether a node of `nodeOS` would run this variant: any node when the platform is unknown.
    /// The OS part is compared case-insensitively, as containerd's `platforms.Normalize` lower-cases it.
    func runs(on nodeOS: NodeOS) -> Bool {
        guard let platform else { return true }
        return platform.prefix { $0 != "/" }.lowercased() == nodeOS.rawValue
    }
}

extension ImageUserLookup {
    /// The known variants a node of `os` could run, and why others it could run are not known
    /// (nil when all are); a failure when the image is unresolved or has no platform for `os`.
    /// A check reports a denial among `known` before the unknown ones: a root platform is certain.
    func variants(on os: NodeOS) -> Result<(known: [ImageUserVariant], unknown: String?), UnresolvedReason> {
        switch self {
        case .unresolved(let reason):
            return .failure(UnresolvedReason(text: reason))
        case .found(let all):
            return all.runnable(on: os).map { ($0, nil) }
        case .partlyFound(let all, let unevaluated, let reason):
            let placeholders = unevaluated.map { ImageUserVariant(user: .unset, platform: $0) }
            switch (all + placeholders).runnable(on: os) {
            case .failure(let error): return .failure(error)
            case .success: break
            }
            let unknown = placeholders.contains { $0.runs(on: os) } ? reason : nil
            return .success((all.filter { $0.runs(on: os) }, unknown))
        }
    }

    /// The node OSes some platform of the image runs on, or nil when the answer does not say.
    var nodeOSes: Set<NodeOS>? {
        switch self {
        case .unresolved: nil
        case .found(let all): all.nodeOSes
        case .partlyFound(let all, let unevaluated, _): (all + unevaluated.map { ImageUserVariant(user: .unset, platform: $0) }).nodeOSes
        }
    }
}

extension [ImageUserVariant] {
    /// The variants a node of `os` could run, or why there are none.
    func runnable(on os: NodeOS) -> Result<[ImageUserVariant], UnresolvedReason> {
        let runnable = filter { $0.runs(on: os) }
        if runnable.isEmpty && !isEmpty {
            return .failure(UnresolvedReason(text: "the image has no \(os.rawValue) platform (it has \(compactMap(\.platform).joined(separator: ", ")))"))
        }
        return .success(runnable)
    }

    /// The node OSes that can run some variant, or nil when the variants do not say (no variants,
    /// or one without a platform, as a catalog entry): the image then restricts nothing.
    var nodeOSes: Set<NodeOS>? {
        guard !isEmpty, allSatisfy({ $0.platform != nil }) else { return nil }
        return Set(NodeOS.allCases.filter { os in contains { $0.runs(on: os) } })
    }
}

struct UnresolvedReason: Error {
    var text: String
}
