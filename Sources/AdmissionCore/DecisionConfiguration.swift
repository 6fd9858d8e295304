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
    /// The OSes of the cluster's nodes. Both by default: a pod without OS hints may land on a Windows
    /// node, whose kubelet needs the image's user even when `runAsUser` is set. A Linux-only cluster
    /// says `linux` and saves those lookups.
    public var nodeOSes: [NodeOS]

    public init(
        policy: PolicyName = .kubelet, mode: EnforcementMode = .enforce, unresolved: UnresolvedAction = .warn, limits: ReviewLimits = .init(),
        nodeOSes: [NodeOS] = NodeOS.allCases
    ) {
        self.policy = policy
        self.mode = mode
        self.unresolved = unresolved
        self.limits = limits
        self.nodeOSes = nodeOSes
    }

    /// Every setting at its default: what the CLI's options default to.
    public static let standard = DecisionConfiguration()
}
