public import ImageConfig

/// What is known of each image's USER, by the image as the pod spells it: the answers the lookups gave.
public typealias ImageUserAnswers = (String) -> ImageUserLookup

/// A rule about one container on a node of one OS, in the style of Pod Security Admission's `check_*.go`.
public struct ContainerCheck: Sendable {
    public var id: String
    public var policies: Set<PolicyName>
    public var evaluate: @Sendable (ContainerUnderReview, PodUnderReview, NodeOS, ImageUserAnswers) -> ContainerVerdict
}
