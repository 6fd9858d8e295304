import JSON

/// `metav1.Status` as a denial carries it.
public struct ResponseStatus: Sendable, Equatable {
    public var code: Int
    public var reason: String
    public var message: String

    public init(code: Int, reason: String, message: String) {
        self.code = code
        self.reason = reason
        self.message = message
    }

    /// HTTP 403 with reason `Forbidden`: without a code the apiserver would turn a denial into a 500.
    public static func forbidden(_ message: String) -> ResponseStatus {
        ResponseStatus(code: 403, reason: "Forbidden", message: message)
    }
}

/// `admission.k8s.io/v1` AdmissionResponse of a validating webhook: never a patch.
public struct AdmissionResponse: Sendable, Equatable {
    public var uid: String
    public var allowed: Bool
    public var status: ResponseStatus?
    /// Ordered key-value pairs; keys are simple names, the apiserver prefixes the webhook name.
    public var auditAnnotations: [(key: String, value: String)]
    public var warnings: [String]

    public init(uid: String, allowed: Bool, status: ResponseStatus? = nil, auditAnnotations: [(key: String, value: String)] = [], warnings: [String] = []) {
        self.uid = uid
        self.allowed = allowed
        self.status = status
        self.auditAnnotations = auditAnnotations
        self.warnings = warnings
    }

    public static func == (lhs: AdmissionResponse, rhs: AdmissionResponse) -> Bool {
        lhs.uid == rhs.uid && lhs.allowed == rhs.allowed && lhs.status == rhs.status
            && lhs.warnings == rhs.warnings
            && lhs.auditAnnotations.map(\.key) == rhs.auditAnnotations.map(\.key)
            && lhs.auditAnnotations.map(\.value) == rhs.auditAnnotations.map(\.value)
    }

    /// The response as compact JSON, fields in the order of the Go type. This exact text is what
    /// the server sends inside the AdmissionReview and what `replay --format json` prints.
    public var json: [UInt8] {
        var writer = JSONWriter(capacity: 256)
        writer.beginObject()
        writer.key(unescaped: "uid")
        writer.string(uid)
        writer.key(unescaped: "allowed")
        writer.bool(allowed)
        if let status {
            writer.key(unescaped: "status")
            writer.beginObject()
            writer.key(unescaped: "status")
            writer.string("Failure")
            writer.key(unescaped: "message")
            writer.string(status.message)
            writer.key(unescaped: "reason")
            writer.string(status.reason)
            writer.key(unescaped: "code")
            writer.int(status.code)
            writer.endObject()
        }
        if !auditAnnotations.isEmpty {
            writer.key(unescaped: "auditAnnotations")
            writer.beginObject()
            for (key, value) in auditAnnotations {
                writer.key(key)
                writer.string(value)
            }
            writer.endObject()
        }
        if !warnings.isEmpty {
            writer.key(unescaped: "warnings")
            writer.beginArray()
            for warning in warnings { writer.string(warning) }
            writer.endArray()
        }
        writer.endObject()
        return writer.bytes
    }

    /// The AdmissionReview that carries `responseJSON` back to the apiserver.
    public static func review(apiVersion: AdmissionAPIVersion, responseJSON: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(responseJSON.count + 80)
        out.append(contentsOf: #"{"apiVersion":""#.utf8)
        out.append(contentsOf: apiVersion.rawValue.utf8)
        out.append(contentsOf: #"","kind":"AdmissionReview","response":"#.utf8)
        out.append(contentsOf: responseJSON)
        out.append(UInt8(ascii: "}"))
        return out
    }
}
