public import AdmissionModel

/// A pod spec under review, the name its messages use, and which containers to evaluate.
public struct PodUnderReview: Sendable, Equatable {
    public let subject: Subject
    public let spec: PodSpec
    /// The containers to evaluate, in pod order: init, regular, ephemeral; at most `maximumContainers`.
    public let selected: [ContainerUnderReview]
    /// Selected containers left out by `maximumContainers`, or nil when every one is evaluated.
    public let notEvaluated: ContainersNotEvaluated?
    /// The node OSes the spec's hints allow (`NodeOS.hinted(by:)`); images may narrow them further.
    public let hintedOS: [NodeOS]

    /// Reviews every container of `spec`, or only those `selection` names (by list and name), up to
    /// `maximumContainers` of them.
    public init(subject: Subject, spec: PodSpec, selection: ContainerSelection = .all, maximumContainers: Int = ReviewLimits.defaultMaximumContainers) {
        // Stored at the end, each once: a struct this large assigned field by field between other work
        // is built in a temporary and copied out.
        let hintedOS = NodeOS.hinted(by: spec)
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
        let skipped = count - selected.count
        let notEvaluated = skipped > 0 ? ContainersNotEvaluated(count: skipped, limit: maximumContainers, subject: subject) : nil
        self.subject = subject
        self.spec = spec
        self.selected = selected
        self.notEvaluated = notEvaluated
        self.hintedOS = hintedOS
    }
}
