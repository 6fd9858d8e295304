public import AdmissionModel
public import ImageConfig

/// Which rule set to apply.
public enum PolicyName: String, Sendable, CaseIterable {
    /// Exactly what the kubelet's `verifyRunAsNonRoot` will refuse at container start.
    case kubelet
    /// `kubelet`, plus Pod Security `restricted`'s runAsNonRoot and runAsUser checks, plus images
    /// that must declare a numeric non-root USER even where the pod has not yet opted in.
    case restricted
}

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

/// A pod spec under review, the name its messages use, and which containers to evaluate.
public struct PodUnderReview: Sendable, Equatable {
    public var subject: Subject
    public var spec: PodSpec
    /// The containers to evaluate, in pod order: init, regular, ephemeral; at most `maximumContainers`.
    public var selected: [ContainerUnderReview]
    /// Selected containers left out by `maximumContainers`, or nil when every one is evaluated.
    public var notEvaluated: ContainersNotEvaluated?
    /// The node OSes the spec's hints allow (`NodeOS.hinted(by:)`); images may narrow them further.
    public var hintedOS: [NodeOS]

    /// Reviews every container of `spec`, or only those `selection` names (by list and name), up to
    /// `maximumContainers` of them.
    public init(subject: Subject, spec: PodSpec, selection: ContainerSelection = .all, maximumContainers: Int = ReviewLimits.defaultMaximumContainers) {
        self.subject = subject
        self.spec = spec
        self.hintedOS = NodeOS.hinted(by: spec)
        var selected: [ContainerUnderReview] = []
        scan: for (kind, list) in [(ContainerKind.initContainer, spec.initContainers), (.container, spec.containers), (.ephemeralContainer, spec.ephemeralContainers)] {
            for position in selection.positions(of: kind, count: list.count) {
                guard selected.count < maximumContainers else { break scan }
                selected.append(ContainerUnderReview(container: list[position], kind: kind, pod: spec.securityContext))
            }
        }
        self.selected = selected
        // Container names are unique within a pod, so the selection's size is exact.
        let skipped = selected.count < maximumContainers ? 0 : selection.count(in: spec) - selected.count
        self.notEvaluated = skipped > 0 ? ContainersNotEvaluated(count: skipped, limit: maximumContainers, subject: subject) : nil
    }
}

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

/// The outcome of a container check.
public enum ContainerVerdict: Sendable, Equatable {
    case allowed
    case denied(Finding)
    case unresolved(UnresolvedImage)
}

/// Looks up what an image's config declares as its USER.
public typealias ImageUserAnswers = (String) -> ImageUserLookup

/// A rule about one container on a node of one OS, in the style of Pod Security Admission's `check_*.go`.
public struct ContainerCheck: Sendable {
    public var id: String
    public var policies: Set<PolicyName>
    public var evaluate: @Sendable (ContainerUnderReview, PodUnderReview, NodeOS, ImageUserAnswers) -> ContainerVerdict
}

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
