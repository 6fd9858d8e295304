public import JSON

/// The part of `metav1.ObjectMeta` that messages name.
public struct ObjectMeta: Sendable, Equatable {
    public let name: String?
    public let generateName: String?
    public let namespace: String?
    public let uid: String?

    public init(name: String? = nil, generateName: String? = nil, namespace: String? = nil, uid: String? = nil) {
        self.name = name
        self.generateName = generateName
        self.namespace = namespace
        self.uid = uid
    }

    init(json: JSONValue?) throws(ModelDecodingError) {
        guard let json else {
            self.init()
            return
        }
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
        self.init(
            name: try name.stringField(), generateName: try generateName.stringField(),
            namespace: try namespace.stringField(), uid: try uid.stringField())
    }
}

/// The part of `corev1.PodSpec` that the rules read.
public struct PodSpec: Sendable, Equatable {
    public let initContainers: [Container]
    public let containers: [Container]
    public let ephemeralContainers: [Container]
    public let securityContext: PodSecurityContext?
    public let os: PodOS?
    public let hostUsers: Bool?
    /// `spec.nodeSelector`: labels every node that runs the pod must carry.
    public let nodeSelector: [String: String]
    /// `spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution`; preferred terms
    /// and pod affinity restrict no node, so they are not read.
    public let requiredNodeAffinity: NodeSelector?
    /// `spec.imagePullSecrets[].name`, in order, empty names included (the kubelet skips them).
    public let imagePullSecrets: [String]
    /// `spec.serviceAccountName`, nil when unset.
    public let serviceAccountName: String?

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
        // Every field is decoded into a local first and stored after the last `try`: stored between
        // throwing calls, a struct this large is built in a temporary and copied out (a retain and a
        // release of each field). The same holds for the other decoders here.
        let initContainerList = try Container.list(initContainers.arrayField())
        let containerList = try Container.list(containers.arrayField())
        let ephemeralContainerList = try Container.list(ephemeralContainers.arrayField())
        var podSecurityContext: PodSecurityContext?
        if let object = try securityContext.objectField() { podSecurityContext = try PodSecurityContext(json: object) }
        var podOS: PodOS?
        if let object = try os.objectField() { podOS = try PodOS(json: object) }
        let usesHostUsers = try hostUsers.boolField()
        var selectorLabels: [String: String] = [:]
        if let selector = try nodeSelector.objectField() {
            // Go's decoder keeps the last of duplicate keys, as assigning in order does.
            for (key, value) in selector.members {
                guard let text = value.string else { throw ModelDecodingError(at: value, "expected a string, found \(value.typeName)") }
                selectorLabels[key] = text
            }
        }
        let pullSecrets = try imagePullSecrets.arrayField().map { (reference) throws(ModelDecodingError) in
            guard reference.isObject else { throw ModelDecodingError(at: reference, "expected a LocalObjectReference object, found \(reference.typeName)") }
            return try reference.string("name") ?? ""
        }
        let accountName = try serviceAccountName.stringField()
        var nodeAffinity: NodeSelector?
        if let required = try affinity.objectField()?.object("nodeAffinity")?.object("requiredDuringSchedulingIgnoredDuringExecution") {
            nodeAffinity = try NodeSelector(json: required)
        }
        self.initContainers = initContainerList
        self.containers = containerList
        self.ephemeralContainers = ephemeralContainerList
        self.securityContext = podSecurityContext
        self.os = podOS
        self.hostUsers = usesHostUsers
        self.nodeSelector = selectorLabels
        self.imagePullSecrets = pullSecrets
        self.serviceAccountName = accountName
        self.requiredNodeAffinity = nodeAffinity
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
    public let name: String
    public let image: String
    public let securityContext: SecurityContext?

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
        let nameText = try name.stringField() ?? ""
        let imageText = try image.stringField() ?? ""
        var context: SecurityContext?
        if let object = try securityContext.objectField() { context = try SecurityContext(json: object) }
        self.name = nameText
        self.image = imageText
        self.securityContext = context
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
