import AdmissionModel
import JSON

/// Turns a Kubernetes audit event (`audit.k8s.io/v1` Event) into the AdmissionRequest the API
/// server sent the webhook for it.
enum AuditConversion {
    /// Audited resources whose objects carry a pod spec, and their kinds.
    static let kinds: [String: PodSpecKind] = [
        "pods": .pod,
        "deployments": .deployment,
        "replicasets": .replicaSet,
        "statefulsets": .statefulSet,
        "daemonsets": .daemonSet,
        "jobs": .job,
        "cronjobs": .cronJob,
        "replicationcontrollers": .replicationController,
        "podtemplates": .podTemplate,
    ]

    /// Later stages carry more (the response object), so they win when one request is logged
    /// at several stages.
    static func stageRank(_ stage: String?) -> Int {
        switch stage {
        case "ResponseComplete": 3
        case "ResponseStarted": 2
        case "Panic": 1
        default: 0
        }
    }

    /// The bare AdmissionRequest JSON, or nil when the event cannot be evaluated: not a create,
    /// update or patch of a pod or workload (pods/ephemeralcontainers included), or logged without
    /// the object (level Metadata, or a patch without its resulting object).
    static func request(from event: JSONValue) -> [UInt8]? {
        guard let verb = event["verb"]?.string,
              let objectRef = event["objectRef"], objectRef.isObject,
              let resource = objectRef["resource"]?.string,
              let kind = kinds[resource]
        else { return nil }
        let operation: String
        switch verb {
        case "create": operation = "CREATE"
        case "update", "patch": operation = "UPDATE"
        default: return nil
        }
        let group = objectRef["apiGroup"]?.string ?? ""
        let version = objectRef["apiVersion"]?.string ?? "v1"
        guard PodSpecKind(group: group, kind: kind.rawValue) != nil else { return nil }
        let subresource = objectRef["subresource"]?.string ?? ""
        guard subresource.isEmpty || (kind == .pod && subresource == "ephemeralcontainers") else { return nil }

        // The object as stored (after defaulting and mutation) when the response has it; the
        // request's object otherwise, except for a patch, whose request object is only the patch.
        let object: JSONValue
        if let response = event["responseObject"], response.isObject, response["kind"]?.string != "Status" {
            object = response
        } else if verb != "patch", let request = event["requestObject"], request.isObject,
                  request["kind"]?.string != "Status" {
            object = request
        } else {
            return nil
        }

        let rawObject = object.rawBytes
        var writer = JSONWriter(capacity: rawObject.count + 512)
        writer.beginObject()
        writer.key("uid")
        writer.string(event["auditID"]?.string ?? "")
        writer.key("kind")
        writer.beginObject()
        writer.key("group"); writer.string(group)
        writer.key("version"); writer.string(version)
        writer.key("kind"); writer.string(kind.rawValue)
        writer.endObject()
        writer.key("resource")
        writer.beginObject()
        writer.key("group"); writer.string(group)
        writer.key("version"); writer.string(version)
        writer.key("resource"); writer.string(resource)
        writer.endObject()
        if !subresource.isEmpty {
            writer.key("subResource")
            writer.string(subresource)
        }
        if let namespace = objectRef["namespace"]?.string ?? object["metadata"]?["namespace"]?.string {
            writer.key("namespace")
            writer.string(namespace)
        }
        if let name = objectRef["name"]?.string ?? object["metadata"]?["name"]?.string {
            writer.key("name")
            writer.string(name)
        }
        writer.key("operation")
        writer.string(operation)
        writer.key("userInfo")
        writer.beginObject()
        writer.key("username")
        writer.string(event["user"]?["username"]?.string ?? "")
        writer.endObject()
        writer.key("object")
        writer.raw(rawObject)
        writer.key("dryRun")
        writer.bool(false)
        writer.endObject()
        return writer.bytes
    }
}

/// Wraps a Kubernetes object from a manifest into the CREATE request that applying it would send.
enum ManifestRequest {
    /// The user name in synthetic requests, for decision logs.
    static let username = "nonroot-admission-check"

    static func wrap(_ object: JSONValue, kind: String, apiVersion: String) -> [UInt8] {
        let group: String
        let version: String
        if let slash = apiVersion.firstIndex(of: "/") {
            group = String(apiVersion[..<slash])
            version = String(apiVersion[apiVersion.index(after: slash)...])
        } else {
            group = ""
            version = apiVersion
        }
        let metadata = object["metadata"]
        let namespace = metadata?["namespace"]?.string ?? "default"
        let name = metadata?["name"]?.string ?? metadata?["generateName"]?.string ?? ""

        let rawObject = object.rawBytes
        var writer = JSONWriter(capacity: rawObject.count + 384)
        writer.beginObject()
        writer.key("uid"); writer.string("")
        writer.key("kind")
        writer.beginObject()
        writer.key("group"); writer.string(group)
        writer.key("version"); writer.string(version)
        writer.key("kind"); writer.string(kind)
        writer.endObject()
        writer.key("resource")
        writer.beginObject()
        writer.key("group"); writer.string(group)
        writer.key("version"); writer.string(version)
        writer.key("resource"); writer.string(resourceName(forKind: kind))
        writer.endObject()
        writer.key("namespace"); writer.string(namespace)
        writer.key("name"); writer.string(name)
        writer.key("operation"); writer.string("CREATE")
        writer.key("userInfo")
        writer.beginObject()
        writer.key("username"); writer.string(username)
        writer.endObject()
        writer.key("object"); writer.raw(rawObject)
        writer.key("dryRun"); writer.bool(false)
        writer.endObject()
        return writer.bytes
    }

    /// The apiVersions current Kubernetes serves for a kind that carries a pod spec. The beta
    /// versions (`extensions/v1beta1`, `apps/v1beta2`, `batch/v1beta1`) were removed by 1.25.
    static func servedAPIVersions(of kind: PodSpecKind) -> [String] {
        switch kind {
        case .pod, .replicationController, .podTemplate: ["v1"]
        case .deployment, .replicaSet, .statefulSet, .daemonSet: ["apps/v1"]
        case .job, .cronJob: ["batch/v1"]
        }
    }

    /// The resource for a kind, guessed as Kubernetes' `meta.UnsafeGuessKindToResource` does:
    /// lower-cased, `…s` → `…ses`, `…y` → `…ies`, else `…s` (Pod → pods, NetworkPolicy → networkpolicies).
    static func resourceName(forKind kind: String) -> String {
        let lower = kind.lowercased()
        if lower.isEmpty { return lower }
        if lower.hasSuffix("s") { return lower + "es" }
        if lower.hasSuffix("y") { return String(lower.dropLast()) + "ies" }
        return lower + "s"
    }
}
