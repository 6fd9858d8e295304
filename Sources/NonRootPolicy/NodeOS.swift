public import AdmissionModel
import ImageConfig

/*
 Which node OS runs a pod, and so which kubelet rules apply (k8s-semantics.md §10.E).

 The Windows rules are compiled into the Windows kubelet and never read spec.os: the node's OS
 decides. A pod can land on a node of OS x only if every hint allows x:
 - spec.os.name;
 - nodeSelector["kubernetes.io/os"];
 - required node affinity on kubernetes.io/os (terms ORed, requirements ANDed);
 - the platforms of its images (applied by the evaluator, from lookups it makes anyway).
*/

/// An OS the kubelet labels its node with in `kubernetes.io/os`, and the rule set it applies.
public enum NodeOS: String, Sendable, CaseIterable, Hashable {
    case linux
    case windows

    /// The node label the kubelet sets to `runtime.GOOS`.
    public static let label = "kubernetes.io/os"

    /// The OSes of `spec` allowed by `spec.os`, `nodeSelector` and required node affinity, in
    /// `allCases` order. Empty when no node could run it.
    public static func hinted(by spec: PodSpec) -> [NodeOS] {
        allCases.filter { os in
            if let name = spec.os?.name, name != os.rawValue { return false }
            if let value = spec.nodeSelector[label], value != os.rawValue { return false }
            if let affinity = spec.requiredNodeAffinity, !affinity.allows(os) { return false }
            return true
        }
    }

    /// What restricts the OS, for the warning when nothing is left: e.g. `nodeSelector kubernetes.io/os="darwin"`.
    static func hints(of spec: PodSpec) -> [String] {
        var hints: [String] = []
        if let name = spec.os?.name { hints.append("spec.os.name=\(goQuote(name))") }
        if let value = spec.nodeSelector[label] { hints.append("nodeSelector \(label)=\(goQuote(value))") }
        if spec.requiredNodeAffinity != nil { hints.append("required node affinity") }
        return hints
    }
}

extension NodeSelector {
    /// Whether some term can match a node labelled `kubernetes.io/os=os` (`RequiredNodeAffinity.Match`):
    /// requirements on other keys and on fields are assumed satisfiable.
    func allows(_ os: NodeOS) -> Bool {
        nodeSelectorTerms.contains { $0.allows(os) }
    }
}

extension NodeSelectorTerm {
    func allows(_ os: NodeOS) -> Bool {
        // "A null or empty node selector term matches no objects."
        guard !matchExpressions.isEmpty || !matchFields.isEmpty else { return false }
        return matchExpressions.allSatisfy { $0.key != NodeOS.label || $0.matches(os.rawValue) }
    }
}

extension NodeSelectorRequirement {
    /// `labels.Requirement.Matches` for a node whose label `key` is `value`. An invalid requirement
    /// (no values for In/NotIn, values for Exists/DoesNotExist, an unknown operator) fails to parse
    /// in the scheduler, and its term matches nothing.
    func matches(_ value: String) -> Bool {
        switch self.operator {
        case "In": !values.isEmpty && values.contains(value)
        case "NotIn": !values.isEmpty && !values.contains(value)
        case "Exists": values.isEmpty
        // DoesNotExist: the kubelet always sets the label. Gt/Lt: an OS name never parses as an integer.
        default: false
        }
    }
}

/// A pod whose hints leave no node OS: no kubelet starts it, so the kubelet's rules never run on it.
public struct NoNodeOS: Sendable, Equatable {
    public var subject: Subject
    /// The hints that exclude every OS, as `NodeOS.hints(of:)` names them.
    public var hints: [String]

    public init(subject: Subject, hints: [String]) {
        self.subject = subject
        self.hints = hints
    }

    /// Said as a warning; the review is allowed.
    public var warning: String {
        "\(subject.shortName): no node OS satisfies \(hints.joined(separator: " and ")), so no kubelet will start its containers; they were not checked"
    }
}
