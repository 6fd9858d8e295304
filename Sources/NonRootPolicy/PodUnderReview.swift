public import AdmissionModel

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
