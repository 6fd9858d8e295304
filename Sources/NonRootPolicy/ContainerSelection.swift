public import AdmissionModel

/// Which containers an evaluation covers: all on CREATE; on UPDATE only what changed.
public struct ContainerSelection: Sendable, Equatable {
    /// Positions in the new spec's lists, ascending, per list; nil selects everything.
    private var positions: [ContainerKind: [Int]]?

    /// Every container.
    public static let all = ContainerSelection(positions: nil)

    private init(positions: [ContainerKind: [Int]]?) {
        self.positions = positions
    }

    /// Whether every container is selected.
    public var selectsAll: Bool { positions == nil }

    /// Whether the container at `position` of the `kind` list is selected.
    public func contains(kind: ContainerKind, position: Int) -> Bool {
        guard let positions else { return true }
        return positions[kind]?.contains(position) ?? false
    }

    /// The selected positions of the `kind` list, which has `count` containers, in order.
    public func positions(of kind: ContainerKind, count: Int) -> [Int] {
        positions.map { $0[kind] ?? [] } ?? Array(0..<count)
    }

    /// How many containers of `spec` are selected.
    public func count(in spec: PodSpec) -> Int {
        guard let positions else { return spec.initContainers.count + spec.containers.count + spec.ephemeralContainers.count }
        return positions.values.reduce(0) { $0 + $1.count }
    }

    /// True when nothing is selected.
    public var isEmpty: Bool {
        guard let positions else { return false }
        return positions.values.allSatisfy(\.isEmpty)
    }

    /// The containers of `new` that are new, or whose image or security context differs from `old`.
    ///
    /// A pod's security contexts are immutable, so for a Pod this is "new or image changed". For a
    /// workload template every field may change, so a changed pod-level security context, `hostUsers`,
    /// or anything that decides the node OS (`os`, `nodeSelector`, required node affinity) selects every
    /// container. Containers are matched by name (names are unique per pod).
    public static func changed(from old: PodSpec, to new: PodSpec) -> ContainerSelection {
        if old.securityContext != new.securityContext || old.hostUsers != new.hostUsers || old.os != new.os
            || old.nodeSelector != new.nodeSelector || old.requiredNodeAffinity != new.requiredNodeAffinity {
            return .all
        }
        var positions: [ContainerKind: [Int]] = [:]
        for (kind, oldList, newList) in [
            (ContainerKind.initContainer, old.initContainers, new.initContainers),
            (.container, old.containers, new.containers),
            (.ephemeralContainer, old.ephemeralContainers, new.ephemeralContainers),
        ] {
            // Updates keep the order: compare by position, and index the old list by name only when
            // a name differs there, so a 25,000-container update hashes no name it does not need to.
            var previous: [String: Int]?
            var changed: [Int] = []
            for (position, container) in newList.enumerated() {
                let match: Int?
                if position < oldList.count, oldList[position].name == container.name {
                    match = position
                } else {
                    if previous == nil {
                        var index: [String: Int] = [:]
                        index.reserveCapacity(oldList.count)
                        for (oldPosition, old) in oldList.enumerated() { index[old.name] = oldPosition }
                        previous = index
                    }
                    match = previous?[container.name]
                }
                if match.map({ oldList[$0] != container }) ?? true { changed.append(position) }
            }
            positions[kind] = changed
        }
        return ContainerSelection(positions: positions)
    }
}
