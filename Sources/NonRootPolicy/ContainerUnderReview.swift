public import AdmissionModel

/// A container the rules look at, with its merged security context.
public struct ContainerUnderReview: Sendable, Equatable {
    public var container: Container
    public var kind: ContainerKind
    public var effective: EffectiveSecurityContext

    public init(container: Container, kind: ContainerKind, pod: PodSecurityContext?) {
        self.container = container
        self.kind = kind
        self.effective = EffectiveSecurityContext(pod: pod, container: container.securityContext)
    }
}
