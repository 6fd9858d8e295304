public import AdmissionModel
import ImageConfig

/// What a message names: a pod as the kubelet prints it, or a workload's pod template.
public enum Subject: Sendable, Equatable {
    /// `format.Pod`: `NAME_NAMESPACE(UID)`.
    case pod(name: String, namespace: String, uid: String)
    /// A pod template of a workload, e.g. `Deployment` `shop/web`.
    case template(kind: PodSpecKind, namespace: String, name: String)

    /// The kubelet's ` (pod: %q, container: %s)`, or for a template ` (deployment: "ns/name", container: NAME)`.
    public func suffix(container: String) -> String {
        switch self {
        case .pod(let name, let namespace, let uid):
            return "(pod: \(goQuote("\(name)_\(namespace)(\(uid))")), container: \(container))"
        case .template(let kind, let namespace, let name):
            return "(\(kind.rawValue.lowercased()): \(goQuote("\(namespace)/\(name)")), container: \(container))"
        }
    }

    /// A short name for hints: `pod "web"` or `deployment "shop/web"`.
    public var shortName: String {
        switch self {
        case .pod(let name, _, _): "pod \(goQuote(name))"
        case .template(let kind, let namespace, let name): "\(kind.rawValue.lowercased()) \(goQuote("\(namespace)/\(name)"))"
        }
    }
}
