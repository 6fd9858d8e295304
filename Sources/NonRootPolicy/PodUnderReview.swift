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
        // Container names are unique within a pod, so the selection's size is exact.
        let count = selection.count(in: spec)
        var selected: [ContainerUnderReview] = []
        selected.reserveCapacity(min(count, maximumContainers))
        for kind in ContainerKind.allCases where selected.count < maximumContainers {
            let list = spec.containers(of: kind)
            // Every container (CREATE): the list's own indices, not an array of them.
            let positions: [Int]? = selection.selectsAll ? nil : selection.positions(of: kind, count: list.count)
            for position in 0..<(positions?.count ?? list.count) {
                guard selected.count < maximumContainers else { break }
                let container = list[positions?[position] ?? position]
                selected.append(ContainerUnderReview(container: container, kind: kind, pod: spec.securityContext))
            }
        }
        self.selected = selected
        let skipped = count - selected.count
        self.notEvaluated = skipped > 0 ? ContainersNotEvaluated(count: skipped, limit: maximumContainers, subject: subject) : nil
    }
}
