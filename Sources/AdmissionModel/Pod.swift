public import JSON

/// The part of `metav1.ObjectMeta` that messages name.
public struct ObjectMeta: Sendable, Equatable {
    public var name: String?
    public var generateName: String?
    public var namespace: String?
    public var uid: String?

    public init(name: String? = nil, generateName: String? = nil, namespace: String? = nil, uid: String? = nil) {
        self.name = name
        self.generateName = generateName
        self.namespace = namespace
        self.uid = uid
    }

    init(json: JSONValue?) throws(ModelDecodingError) {
        guard let json else { return }
        var name, generateName, namespace, uid: JSONValue?
        json.forEachMember { key, value in
            switch key {
            case "name": name = value
            case "generateName": generateName = value
            case "namespace": namespace = value
            case "uid": uid = value
            default: break
            }
        }
        self.name = try name.stringField()
        self.generateName = try generateName.stringField()
        self.namespace = try namespace.stringField()
        self.uid = try uid.stringField()
    }
}

/// The part of `corev1.PodSpec` that the rules read.
public struct PodSpec: Sendable, Equatable {
    public var initContainers: [Container]
    public var containers: [Container]
    public var ephemeralContainers: [Container]
    public var securityContext: PodSecurityContext?
    public var os: PodOS?
    public var hostUsers: Bool?
    /// `spec.nodeSelector`: labels every node that runs the pod must carry.
    public var nodeSelector: [String: String]
    /// `spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution`; preferred terms
    /// and pod affinity restrict no node, so they are not read.
    public var requiredNodeAffinity: NodeSelector?
    /// `spec.imagePullSecrets[].name`, in order, empty names included (the kubelet skips them).
    public var imagePullSecrets: [String]
    /// `spec.serviceAccountName`, nil when unset.
    public var serviceAccountName: String?

    public init(
        initContainers: [Container] = [], containers: [Container] = [], ephemeralContainers: [Container] = [],
        securityContext: PodSecurityContext? = nil, os: PodOS? = nil, hostUsers: Bool? = nil,
        nodeSelector: [String: String] = [:], requiredNodeAffinity: NodeSelector? = nil,
        imagePullSecrets: [String] = [], serviceAccountName: String? = nil
    ) {
        self.imagePullSecrets = imagePullSecrets
        self.serviceAccountName = serviceAccountName
        self.initContainers = initContainers
        self.containers = containers
        self.ephemeralContainers = ephemeralContainers
        self.securityContext = securityContext
        self.os = os
        self.hostUsers = hostUsers
        self.nodeSelector = nodeSelector
        self.requiredNodeAffinity = requiredNodeAffinity
    }

    /// The list of `kind`.
    public func containers(of kind: ContainerKind) -> [Container] {
        switch kind {
        case .initContainer: initContainers
        case .container: containers
        case .ephemeralContainer: ephemeralContainers
        }
    }

    public init(json: JSONValue) throws(ModelDecodingError) {
        guard json.isObject else { throw ModelDecodingError(at: json, "expected a pod spec object, found \(json.typeName)") }
        var initContainers, containers, ephemeralContainers, securityContext, os, hostUsers: JSONValue?
        var nodeSelector, imagePullSecrets, serviceAccountName, affinity: JSONValue?
        json.forEachMember { key, value in
            switch key {
            case "initContainers": initContainers = value
            case "containers": containers = value
            case "ephemeralContainers": ephemeralContainers = value
            case "securityContext": securityContext = value
            case "os": os = value
            case "hostUsers": hostUsers = value
            case "nodeSelector": nodeSelector = value
            case "imagePullSecrets": imagePullSecrets = value
            case "serviceAccountName": serviceAccountName = value
            case "affinity": affinity = value
            default: break
            }
        }
        self.initContainers = try Container.list(initContainers.arrayField())
        self.containers = try Container.list(containers.arrayField())
        self.ephemeralContainers = try Container.list(ephemeralContainers.arrayField())
        self.securityContext = try securityContext.objectField().map { (v) throws(ModelDecodingError) in try PodSecurityContext(json: v) }
        self.os = try os.objectField().map { (v) throws(ModelDecodingError) in try PodOS(json: v) }
        self.hostUsers = try hostUsers.boolField()
        self.nodeSelector = [:]
        if let selector = try nodeSelector.objectField() {
            // Go's decoder keeps the last of duplicate keys, as assigning in order does.
            for (key, value) in selector.members {
                guard let text = value.string else { throw ModelDecodingError(at: value, "expected a string, found \(value.typeName)") }
                self.nodeSelector[key] = text
            }
        }
        self.imagePullSecrets = try imagePullSecrets.arrayField().map { (reference) throws(ModelDecodingError) in
            guard reference.isObject else { throw ModelDecodingError(at: reference, "expected a LocalObjectReference object, found \(reference.typeName)") }
            return try reference.string("name") ?? ""
        }
        self.serviceAccountName = try serviceAccountName.stringField()
        self.requiredNodeAffinity = try affinity.objectField()?.object("nodeAffinity")?
            .object("requiredDuringSchedulingIgnoredDuringExecution")
            .map { (v) throws(ModelDecodingError) in try NodeSelector(json: v) }
    }
}

/// Which list of the pod spec a container belongs to.
public enum ContainerKind: String, Sendable, Equatable, CaseIterable {
    case initContainer = "initContainers"
    case container = "containers"
    case ephemeralContainer = "ephemeralContainers"
}

/// The part of `corev1.Container` (and `EphemeralContainerCommon`, which has the same fields) that the rules read.
public struct Container: Sendable, Equatable {
    public var name: String
    public var image: String
    public var securityContext: SecurityContext?

    public init(name: String, image: String, securityContext: SecurityContext? = nil) {
        self.name = name
        self.image = image
        self.securityContext = securityContext
    }

    init(json: JSONValue) throws(ModelDecodingError) {
        guard json.isObject else { throw ModelDecodingError(at: json, "expected a container object, found \(json.typeName)") }
        var name, image, securityContext: JSONValue?
        json.forEachMember { key, value in
            switch key {
            case "name": name = value
            case "image": image = value
            case "securityContext": securityContext = value
            default: break
            }
        }
        self.name = try name.stringField() ?? ""
        self.image = try image.stringField() ?? ""
        self.securityContext = try securityContext.objectField().map { (v) throws(ModelDecodingError) in try SecurityContext(json: v) }
    }

    static func list(_ values: [JSONValue]) throws(ModelDecodingError) -> [Container] {
        try values.map { (value) throws(ModelDecodingError) in try Container(json: value) }
    }
}

/// The part of `corev1.SecurityContext` that the rules read.
public struct SecurityContext: Sendable, Equatable {
    public var runAsUser: Int64?
    public var runAsGroup: Int64?
    public var runAsNonRoot: Bool?
    public var windowsOptions: WindowsSecurityContextOptions?

    public init(runAsUser: Int64? = nil, runAsGroup: Int64? = nil, runAsNonRoot: Bool? = nil, windowsOptions: WindowsSecurityContextOptions? = nil) {
        self.runAsUser = runAsUser
        self.runAsGroup = runAsGroup
        self.runAsNonRoot = runAsNonRoot
        self.windowsOptions = windowsOptions
    }

    public init(json: JSONValue) throws(ModelDecodingError) {
        (runAsUser, runAsGroup, runAsNonRoot, windowsOptions) = try SecurityContextFields.decode(json)
    }
}

/// The part of `corev1.PodSecurityContext` that the rules read.
public struct PodSecurityContext: Sendable, Equatable {
    public var runAsUser: Int64?
    public var runAsGroup: Int64?
    public var runAsNonRoot: Bool?
    public var windowsOptions: WindowsSecurityContextOptions?

    public init(runAsUser: Int64? = nil, runAsGroup: Int64? = nil, runAsNonRoot: Bool? = nil, windowsOptions: WindowsSecurityContextOptions? = nil) {
        self.runAsUser = runAsUser
        self.runAsGroup = runAsGroup
        self.runAsNonRoot = runAsNonRoot
        self.windowsOptions = windowsOptions
    }

    public init(json: JSONValue) throws(ModelDecodingError) {
        (runAsUser, runAsGroup, runAsNonRoot, windowsOptions) = try SecurityContextFields.decode(json)
    }
}

/// The members the pod's and the container's security contexts share, read in one pass.
private enum SecurityContextFields {
    static func decode(_ json: JSONValue) throws(ModelDecodingError) -> (Int64?, Int64?, Bool?, WindowsSecurityContextOptions?) {
        var runAsUser, runAsGroup, runAsNonRoot, windowsOptions: JSONValue?
        json.forEachMember { key, value in
            switch key {
            case "runAsUser": runAsUser = value
            case "runAsGroup": runAsGroup = value
            case "runAsNonRoot": runAsNonRoot = value
            case "windowsOptions": windowsOptions = value
            default: break
            }
        }
        return (
            try runAsUser.int64Field(), try runAsGroup.int64Field(), try runAsNonRoot.boolField(),
            try windowsOptions.objectField().map { (v) throws(ModelDecodingError) in try WindowsSecurityContextOptions(json: v) }
        )
    }
}

/// The part of `corev1.WindowsSecurityContextOptions` that the rules read.
public struct WindowsSecurityContextOptions: Sendable, Equatable {
    public var runAsUserName: String?
    public var hostProcess: Bool?

    public init(runAsUserName: String? = nil, hostProcess: Bool? = nil) {
        self.runAsUserName = runAsUserName
        self.hostProcess = hostProcess
    }

    init(json: JSONValue) throws(ModelDecodingError) {
        runAsUserName = try json.string("runAsUserName")
        hostProcess = try json.bool("hostProcess")
    }
}

/// `corev1.PodOS`.
public struct PodOS: Sendable, Equatable {
    public var name: String

    public init(name: String) { self.name = name }

    init(json: JSONValue) throws(ModelDecodingError) {
        name = try json.string("name") ?? ""
    }
}

/// `corev1.NodeSelector`: the terms are ORed.
public struct NodeSelector: Sendable, Equatable {
    public var nodeSelectorTerms: [NodeSelectorTerm]

    public init(nodeSelectorTerms: [NodeSelectorTerm]) { self.nodeSelectorTerms = nodeSelectorTerms }

    init(json: JSONValue) throws(ModelDecodingError) {
        var terms: [NodeSelectorTerm] = []
        for value in try json.array("nodeSelectorTerms") { terms.append(try NodeSelectorTerm(json: value)) }
        nodeSelectorTerms = terms
    }
}

/// `corev1.NodeSelectorTerm`: every requirement must hold; an empty term matches no node.
public struct NodeSelectorTerm: Sendable, Equatable {
    /// Requirements on node labels.
    public var matchExpressions: [NodeSelectorRequirement]
    /// Requirements on node fields (`metadata.name`).
    public var matchFields: [NodeSelectorRequirement]

    public init(matchExpressions: [NodeSelectorRequirement] = [], matchFields: [NodeSelectorRequirement] = []) {
        self.matchExpressions = matchExpressions
        self.matchFields = matchFields
    }

    init(json: JSONValue) throws(ModelDecodingError) {
        guard json.isObject else { throw ModelDecodingError(at: json, "expected a node selector term object, found \(json.typeName)") }
        matchExpressions = try NodeSelectorRequirement.list(json.array("matchExpressions"))
        matchFields = try NodeSelectorRequirement.list(json.array("matchFields"))
    }
}

/// `corev1.NodeSelectorRequirement`: `key`, `operator` (In, NotIn, Exists, DoesNotExist, Gt, Lt), `values`.
public struct NodeSelectorRequirement: Sendable, Equatable {
    public var key: String
    public var `operator`: String
    public var values: [String]

    public init(key: String, operator: String, values: [String] = []) {
        self.key = key
        self.operator = `operator`
        self.values = values
    }

    init(json: JSONValue) throws(ModelDecodingError) {
        guard json.isObject else { throw ModelDecodingError(at: json, "expected a node selector requirement object, found \(json.typeName)") }
        key = try json.string("key") ?? ""
        `operator` = try json.string("operator") ?? ""
        var values: [String] = []
        for value in try json.array("values") {
            guard let text = value.string else { throw ModelDecodingError(at: value, "expected a string, found \(value.typeName)") }
            values.append(text)
        }
        self.values = values
    }

    static func list(_ values: [JSONValue]) throws(ModelDecodingError) -> [NodeSelectorRequirement] {
        var result: [NodeSelectorRequirement] = []
        result.reserveCapacity(values.count)
        for value in values { result.append(try NodeSelectorRequirement(json: value)) }
        return result
    }
}
