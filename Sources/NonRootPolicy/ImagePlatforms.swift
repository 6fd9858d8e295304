import ImageConfig

extension ImageUserVariant {
    /// Whether a node of `nodeOS` would run this variant: any node when the platform is unknown.
    /// The OS part is compared case-insensitively, as containerd's `platforms.Normalize` lower-cases it.
    func runs(on nodeOS: NodeOS) -> Bool {
        guard let platform else { return true }
        return platform.prefix { $0 != "/" }.lowercased() == nodeOS.rawValue
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
