/// Which rule set to apply.
public enum PolicyName: String, Sendable, CaseIterable {
    /// Exactly what the kubelet's `verifyRunAsNonRoot` will refuse at container start.
    case kubelet
    /// `kubelet`, plus Pod Security `restricted`'s runAsNonRoot and runAsUser checks, plus images
    /// that must declare a numeric non-root USER even where the pod has not yet opted in.
    case restricted
}
