/// The result of a pod-level Pod Security check: a reason and an optional detail, as PSA's `CheckResult`.
public struct PodCheckResult: Sendable, Equatable {
    public var forbiddenReason: String
    public var forbiddenDetail: String
    public var hint: String
}

/// A rule about the pod spec as a whole.
public struct PodCheck: Sendable {
    public var id: String
    public var policies: Set<PolicyName>
    public var evaluate: @Sendable (PodUnderReview) -> PodCheckResult?
}
