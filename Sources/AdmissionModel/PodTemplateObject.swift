public import JSON

/// The kinds whose objects carry a pod spec, and where each keeps it.
public enum PodSpecKind: String, Sendable, Equatable, CaseIterable {
    case pod = "Pod"
    case deployment = "Deployment"
    case replicaSet = "ReplicaSet"
    case statefulSet = "StatefulSet"
    case daemonSet = "DaemonSet"
    case job = "Job"
    case cronJob = "CronJob"
    case replicationController = "ReplicationController"
    case podTemplate = "PodTemplate"

    /// The kind for an API group and kind name, or nil for kinds without a pod spec.
    /// `extensions` is accepted for the old workload groups that `matchPolicy: Equivalent` may still show.
    public init?(group: String, kind: String) {
        guard let value = PodSpecKind(rawValue: kind) else { return nil }
        switch value {
        case .pod, .replicationController, .podTemplate: guard group == "" else { return nil }
        case .deployment, .replicaSet, .statefulSet, .daemonSet: guard group == "apps" || group == "extensions" else { return nil }
        case .job, .cronJob: guard group == "batch" else { return nil }
        }
        self = value
    }

    /// The JSON path of the pod spec inside an object of this kind.
    public var specPath: String {
        switch self {
        case .pod: "spec"
        case .podTemplate: "template.spec"
        case .cronJob: "spec.jobTemplate.spec.template.spec"
        default: "spec.template.spec"
        }
    }
}

/// An object that carries a pod spec: a Pod, or a workload with a pod template.
public struct PodTemplateObject: Sendable, Equatable {
    public let kind: PodSpecKind
    /// The object's own metadata (for a workload, the workload's, not the template's).
    public let metadata: ObjectMeta
    public let spec: PodSpec

    public init(kind: PodSpecKind, metadata: ObjectMeta, spec: PodSpec) {
        self.kind = kind
        self.metadata = metadata
        self.spec = spec
    }

    /// Decodes the object of `kind`. A workload without a template yields an empty spec.
    public init(kind: PodSpecKind, json: JSONValue) throws(ModelDecodingError) {
        guard json.isObject else { throw ModelDecodingError(at: json, "expected a \(kind.rawValue) object, found \(json.typeName)") }
        // Decoded into locals, stored after the last `try` (see `PodSpec.init(json:)`).
        let objectMetadata = try ObjectMeta(json: json.object("metadata"))
        var cursor: JSONValue? = json
        let steps: [StaticString]
        switch kind {
        case .pod: steps = ["spec"]
        case .podTemplate: steps = ["template", "spec"]
        case .cronJob: steps = ["spec", "jobTemplate", "spec", "template", "spec"]
        default: steps = ["spec", "template", "spec"]
        }
        for step in steps {
            cursor = try cursor?.object(step)
        }
        var podSpec = PodSpec()
        if let cursor { podSpec = try PodSpec(json: cursor) }
        self.kind = kind
        self.metadata = objectMetadata
        self.spec = podSpec
    }
}
