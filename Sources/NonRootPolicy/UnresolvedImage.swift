import ImageConfig

/// A container whose image USER matters but is unknown.
public struct UnresolvedImage: Sendable, Equatable {
    public var container: String
    public var image: String
    public var reason: String
    public var subject: Subject

    public init(container: String, image: String, reason: String, subject: Subject) {
        self.container = container
        self.image = image
        self.reason = reason
        self.subject = subject
    }

    /// The sentence used when `--unresolved deny` turns this into a denial. Built on demand:
    /// unresolved images are also how `imagesNeeded` collects lookups, on every review.
    public var message: String {
        "container has runAsNonRoot and the USER of image \(goQuote(image)) cannot be determined (\(reason)) \(subject.suffix(container: container))"
    }
}
