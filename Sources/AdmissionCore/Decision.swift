public import AdmissionModel
public import NonRootPolicy

/// The outcome of one review, with what logs, metrics and `replay` report about it.
public struct Decision: Sendable {
    public enum Outcome: String, Sendable {
        case allowed
        case denied
        /// Dry-run: allowed, but enforce mode would have denied.
        case wouldDeny = "would-deny"
    }

    public var apiVersion: AdmissionAPIVersion
    public var response: AdmissionResponse
    public var outcome: Outcome
    public var mode: EnforcementMode
    /// Why the pod spec was not evaluated (DELETE, a kind without a pod spec, an unchanged UPDATE), or nil.
    public var skipReason: String?
    public var findings: [Finding]
    /// The sentences of the denial (or would-deny) message, in pod order.
    public var sentences: [String]
    public var unresolved: [UnresolvedImage]
    public var kind: String
    public var namespace: String
    public var name: String
    public var operation: String
    public var username: String

    /// The AdmissionResponse as JSON: what `replay --format json` prints.
    public var responseJSON: [UInt8] { response.json }

    /// The whole AdmissionReview the server sends back.
    public var reviewJSON: [UInt8] { AdmissionResponse.review(apiVersion: apiVersion, responseJSON: responseJSON) }

    /// The denial message (enforce) or would-deny message (dry-run), or nil.
    public var message: String? {
        if let status = response.status { return status.message }
        return response.auditAnnotations.first { $0.key == AdmissionDecider.wouldDenyAnnotation }?.value
    }
}
