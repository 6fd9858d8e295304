public import AdmissionModel

/// The security context fields the rules read, after merging the pod's into the container's.
public struct EffectiveSecurityContext: Sendable, Equatable {
    public var runAsUser: Int64?
    public var runAsGroup: Int64?
    public var runAsNonRoot: Bool?
    public var runAsUserName: String?

    public init(runAsUser: Int64? = nil, runAsGroup: Int64? = nil, runAsNonRoot: Bool? = nil, runAsUserName: String? = nil) {
        self.runAsUser = runAsUser
        self.runAsGroup = runAsGroup
        self.runAsNonRoot = runAsNonRoot
        self.runAsUserName = runAsUserName
    }

    /// `securitycontext.DetermineEffectiveSecurityContext`: a container field, when set, wins over
    /// the pod's; `windowsOptions.runAsUserName` merges on its own.
    public init(pod: PodSecurityContext?, container: SecurityContext?) {
        runAsUser = container?.runAsUser ?? pod?.runAsUser
        runAsGroup = container?.runAsGroup ?? pod?.runAsGroup
        runAsNonRoot = container?.runAsNonRoot ?? pod?.runAsNonRoot
        runAsUserName = container?.windowsOptions?.runAsUserName ?? pod?.windowsOptions?.runAsUserName
    }
}
