/// One reason to deny, in the words the message and the warnings use.
public struct Finding: Sendable, Equatable {
    /// The check that found it, e.g. `verifyRunAsNonRoot`.
    public var check: String
    /// The container, or nil for a pod-level finding.
    public var container: String?
    /// The sentence for `status.message`; for kubelet checks byte-identical to the kubelet's.
    public var message: String
    /// A one-line remediation hint for `warnings`.
    public var hint: String

    public init(check: String, container: String?, message: String, hint: String) {
        self.check = check
        self.container = container
        self.message = message
        self.hint = hint
    }
}
