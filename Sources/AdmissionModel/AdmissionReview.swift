public import JSON

/// `admission.k8s.io` API versions this webhook speaks. A review is answered in the version it came in.
public enum AdmissionAPIVersion: String, Sendable, Equatable {
    case v1 = "admission.k8s.io/v1"
    case v1beta1 = "admission.k8s.io/v1beta1"
}

extension JSONValue {
    /// `group`, `version` and the member `third` of a GroupVersionKind or GroupVersionResource, "" when absent.
    fileprivate func groupVersionAnd(_ third: StaticString) throws(ModelDecodingError) -> (String, String, String) {
        var group, version, last: JSONValue?
        forEachMember { key, value in
            switch key {
            case "group": group = value
            case "version": version = value
            case third: last = value
            default: break
            }
        }
        return (try group.stringField() ?? "", try version.stringField() ?? "", try last.stringField() ?? "")
    }
}

/// `metav1.GroupVersionKind` as it appears in an AdmissionRequest.
public struct GroupVersionKind: Sendable, Equatable {
    public var group: String
    public var version: String
    public var kind: String

    public init(group: String, version: String, kind: String) {
        self.group = group
        self.version = version
        self.kind = kind
    }

    init(json: JSONValue) throws(ModelDecodingError) {
        (group, version, kind) = try json.groupVersionAnd("kind")
    }
}

/// `metav1.GroupVersionResource` as it appears in an AdmissionRequest.
public struct GroupVersionResource: Sendable, Equatable {
    public var group: String
    public var version: String
    public var resource: String

    public init(group: String, version: String, resource: String) {
        self.group = group
        self.version = version
        self.resource = resource
    }

    init(json: JSONValue) throws(ModelDecodingError) {
        (group, version, resource) = try json.groupVersionAnd("resource")
    }
}

/// The requesting user. Only the name is kept: it goes into decision logs.
public struct UserInfo: Sendable, Equatable {
    public var username: String

    public init(username: String) { self.username = username }
}

/// `admission.k8s.io/v1` AdmissionRequest: the fields the webhook reads. Unknown fields are ignored.
public struct AdmissionRequest: Sendable {
    public let uid: String
    public let kind: GroupVersionKind?
    public let resource: GroupVersionResource?
    public let subResource: String?
    public let name: String?
    public let namespace: String?
    public let operation: String
    public let userInfo: UserInfo?
    /// The raw `object` and `oldObject`; decoded by kind only when a rule needs them.
    public let object: JSONValue?
    public let oldObject: JSONValue?
    public let dryRun: Bool?

    public init(json: JSONValue) throws(ModelDecodingError) {
        guard json.isObject else { throw ModelDecodingError(at: json, "expected an AdmissionRequest object, found \(json.typeName)") }
        var uid, kind, resource, subResource, name, namespace, operation, userInfo, object, oldObject, dryRun: JSONValue?
        json.forEachMember { key, value in
            switch key {
            case "uid": uid = value
            case "kind": kind = value
            case "resource": resource = value
            case "subResource": subResource = value
            case "name": name = value
            case "namespace": namespace = value
            case "operation": operation = value
            case "userInfo": userInfo = value
            case "object": object = value
            case "oldObject": oldObject = value
            case "dryRun": dryRun = value
            default: break
            }
        }
        guard let uid = try uid.stringField() else {
            throw ModelDecodingError(at: json, "AdmissionRequest has no uid")
        }
        // Decoded into locals, stored after the last `try` (see `PodSpec.init(json:)`).
        var groupVersionKind: GroupVersionKind?
        if let value = try kind.objectField() { groupVersionKind = try GroupVersionKind(json: value) }
        var groupVersionResource: GroupVersionResource?
        if let value = try resource.objectField() { groupVersionResource = try GroupVersionResource(json: value) }
        let subResourceName = try subResource.stringField()
        let objectName = try name.stringField()
        let objectNamespace = try namespace.stringField()
        guard let operation = try operation.stringField() else {
            throw ModelDecodingError(at: json, "AdmissionRequest has no operation")
        }
        var user: UserInfo?
        if let value = try userInfo.objectField() { user = UserInfo(username: try value.string("username") ?? "") }
        let newObject = try object.objectField()
        let previousObject = try oldObject.objectField()
        let isDryRun = try dryRun.boolField()
        self.uid = uid
        self.kind = groupVersionKind
        self.resource = groupVersionResource
        self.subResource = subResourceName
        self.name = objectName
        self.namespace = objectNamespace
        self.operation = operation
        self.userInfo = user
        self.object = newObject
        self.oldObject = previousObject
        self.dryRun = isDryRun
    }

    /// The kind of the object, from `kind`, or from the object's own `apiVersion` and `kind` in
    /// hand-written requests that omit it. Nil when the object has no pod spec.
    public var podSpecKind: PodSpecKind? {
        if let kind { return PodSpecKind(group: kind.group, kind: kind.kind) }
        guard let object, let kindName = object["kind"]?.string else { return nil }
        let apiVersion = object["apiVersion"]?.string ?? "v1"
        let group = apiVersion.split(separator: "/").count == 2 ? String(apiVersion.split(separator: "/")[0]) : ""
        return PodSpecKind(group: group, kind: kindName)
    }

    /// `kind.kind`, or the object's kind, for logs and metrics.
    public var kindName: String {
        kind?.kind ?? object?["kind"]?.string ?? ""
    }
}

/// A decoded review: the request and the envelope it arrived in.
public struct AdmissionReviewRequest: Sendable {
    /// The version to answer in. A bare AdmissionRequest is answered as `v1`.
    public let apiVersion: AdmissionAPIVersion
    public let request: AdmissionRequest
    /// True when the input was a bare AdmissionRequest rather than a full AdmissionReview.
    public let isBareRequest: Bool

    /// Decodes a full AdmissionReview, or a bare AdmissionRequest (the value of `.request`).
    public init(json root: JSONValue) throws(ModelDecodingError) {
        guard root.isObject else {
            throw ModelDecodingError(at: root, "expected an AdmissionReview object, found \(root.typeName)")
        }
        // A bare AdmissionRequest's `kind` is a GroupVersionKind object, an AdmissionReview's a string.
        let kind = root["kind"]?.string
        if kind == "AdmissionReview" || (kind == nil && root["request"] != nil) {
            let version = try root.string("apiVersion") ?? AdmissionAPIVersion.v1.rawValue
            guard let known = AdmissionAPIVersion(rawValue: version) else {
                throw ModelDecodingError(at: root["apiVersion"] ?? root, "unsupported AdmissionReview apiVersion \"\(version)\" (expected admission.k8s.io/v1 or admission.k8s.io/v1beta1)")
            }
            guard let request = try root.object("request") else {
                throw ModelDecodingError(at: root, "AdmissionReview has no request")
            }
            let decoded = try AdmissionRequest(json: request)
            self.apiVersion = known
            self.request = decoded
            self.isBareRequest = false
        } else if root["operation"] != nil, root["uid"] != nil {
            let decoded = try AdmissionRequest(json: root)
            self.apiVersion = .v1
            self.request = decoded
            self.isBareRequest = true
        } else {
            throw ModelDecodingError(at: root, "not an AdmissionReview or AdmissionRequest\(kind.map { " (kind \"\($0)\")" } ?? "")")
        }
    }

    /// Parses and decodes review bytes.
    public static func decode(_ bytes: [UInt8], limits: JSONLimits = .init()) throws(AdmissionDecodingError) -> AdmissionReviewRequest {
        let document: JSONDocument
        do {
            document = try JSONDocument(parsing: bytes, limits: limits)
        } catch {
            throw .invalidJSON(error)
        }
        do {
            return try AdmissionReviewRequest(json: document.root)
        } catch {
            throw .invalidReview(error)
        }
    }
}

/// Why review bytes could not be decoded.
public enum AdmissionDecodingError: Error, Sendable, CustomStringConvertible {
    case invalidJSON(JSONParseError)
    case invalidReview(ModelDecodingError)

    public var description: String {
        switch self {
        case .invalidJSON(let error): "invalid JSON at \(error)"
        case .invalidReview(let error): "invalid AdmissionReview: \(error)"
        }
    }
}
