public import AdmissionModel

/// Which containers an evaluation covers: all on CREATE; on UPDATE only what changed.
public struct ContainerSelection: Sendable, Equatable {
    private var names: [ContainerKind: Set<String>]?

    /// Every container.
    public static let all = ContainerSelection(names: nil)

    private init(names: [ContainerKind: Set<String>]?) {
        self.names = names
    }

    public func contains(kind: ContainerKind, name: String) -> Bool {
        guard let names else { return true }
        return names[kind]?.contains(name) ?? false
    }

    /// True when nothing is selected.
    public var isEmpty: Bool {
        guard let names else { return false }
        return names.values.allSatisfy(\.isEmpty)
    }

    /// The containers of `new` that are new, or whose image or security context differs from `old`.
    ///
    /// A pod's security contexts are immutable, so for a Pod this is "new or image changed". For a
    /// workload template every field may change, so a changed pod-level security context, `os` or
    /// `hostUsers` selects every container.
    public static func changed(from old: PodSpec, to new: PodSpec) -> ContainerSelection {
        if old.securityContext != new.securityContext || old.os != new.os || old.hostUsers != new.hostUsers {
            return .all
        }
        var names: [ContainerKind: Set<String>] = [:]
        for (kind, oldList, newList) in [
            (ContainerKind.initContainer, old.initContainers, new.initContainers),
            (.container, old.containers, new.containers),
            (.ephemeralContainer, old.ephemeralContainers, new.ephemeralContainers),
        ] {
            var previous: [String: Container] = [:]
            for container in oldList { previous[container.name] = container }
            var changed: Set<String> = []
            for container in newList where previous[container.name] != container {
                changed.insert(container.name)
            }
            names[kind] = changed
        }
        return ContainerSelection(names: names)
    }
}
