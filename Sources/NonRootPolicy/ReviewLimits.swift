/// Bounds on the work one review may cause, so that a pod with 25,000 containers costs about what a
/// pod with 256 does. Containers and images beyond them are reported, never skipped silently.
public struct ReviewLimits: Sendable, Equatable {
    /// Real pods have a handful of containers; 256 leaves room for sidecar-heavy meshes.
    public static let defaultMaximumContainers = 256
    /// Distinct images whose USER one review may ask for: each may be a registry lookup.
    public static let defaultMaximumImages = 32

    /// Containers evaluated per review, in pod order (init, regular, ephemeral).
    public var maximumContainers: Int
    /// Distinct images looked up per review, in the order the containers need them.
    public var maximumImages: Int

    public init(maximumContainers: Int = ReviewLimits.defaultMaximumContainers, maximumImages: Int = ReviewLimits.defaultMaximumImages) {
        self.maximumContainers = maximumContainers
        self.maximumImages = maximumImages
    }

    /// No bounds: for tests and for callers that bound input elsewhere.
    public static let unbounded = ReviewLimits(maximumContainers: .max, maximumImages: .max)

    /// The reason given for an image past `maximumImages`.
    public var imageBoundReason: String {
        "not looked up: the review names more than \(maximumImages) distinct images, the most looked up per review"
    }
}

/// Containers of a pod that were not evaluated because the pod has more than `limit`.
public struct ContainersNotEvaluated: Sendable, Equatable {
    /// How many were left out.
    public var count: Int
    /// The bound that left them out.
    public var limit: Int
    public var subject: Subject

    public init(count: Int, limit: Int, subject: Subject) {
        self.count = count
        self.limit = limit
        self.subject = subject
    }

    /// The sentence used when `--unresolved deny` turns this into a denial.
    public var message: String {
        "\(count) \(count == 1 ? "container was" : "containers were") not evaluated, past the \(limit) containers evaluated per review (\(subject.shortName))"
    }

    /// The warning given whatever `--unresolved` says: the operator should know the bound was hit.
    public var warning: String {
        "\(subject.shortName): \(count) of its containers \(count == 1 ? "was" : "were") not evaluated: at most \(limit) containers are evaluated per review"
    }
}
