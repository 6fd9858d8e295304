import ImageConfig

extension ImageUserVariant {
    /// Whether a node of `nodeOS` would run this variant: any node when the platform is unknown.
    /// The OS part is compared case-insensitively, as containerd's `platforms.Normalize` lower-cases it.
    func runs(on nodeOS: NodeOS) -> Bool {
        guard let platform else { return true }
        // An ASCII platform (every one a registry writes) is compared in place, lower-casing byte by
        // byte, with the same result as the general path below, which builds a lower-cased String.
        if platform.utf8.allSatisfy({ $0 < 0x80 }) {
            let os = platform.utf8.prefix { $0 != UInt8(ascii: "/") }
            return os.elementsEqual(nodeOS.rawValue.utf8) { byte, lower in
                (byte &- UInt8(ascii: "A") < 26 ? byte | 0x20 : byte) == lower
            }
        }
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
            // A catalog entry: one variant with no platform, which every node runs.
            if all.count == 1, all[0].platform == nil { return .success((all, nil)) }
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
        // Usually every variant runs (a catalog entry has no platform): no copy then.
        if allSatisfy({ $0.runs(on: os) }) { return .success(self) }
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
