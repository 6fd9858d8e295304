public import NonRootPolicy

/// Whether findings deny, or only warn and record.
public enum EnforcementMode: String, Sendable, CaseIterable {
    case enforce
    /// Never denies: findings go into warnings and an audit annotation, recorded as would-deny.
    case dryRun = "dry-run"
}

/// What to do when an image's USER matters but cannot be determined.
public enum UnresolvedAction: String, Sendable, CaseIterable {
    /// Allow silently.
    case allow
    /// Allow, with a warning that names the image and the reason.
    case warn
    /// Deny, naming the image and the reason.
    case deny
}

/// How reviews are decided.
public struct DecisionConfiguration: Sendable {
    public var policy: PolicyName
    public var mode: EnforcementMode
    public var unresolved: UnresolvedAction
    /// Containers evaluated and images looked up per review.
    public var limits: ReviewLimits

    public init(policy: PolicyName = .kubelet, mode: EnforcementMode = .enforce, unresolved: UnresolvedAction = .warn, limits: ReviewLimits = .init()) {
        self.policy = policy
        self.mode = mode
        self.unresolved = unresolved
        self.limits = limits
    }
}
