/// Why an API server read failed. Messages name the object and the server's reason, never a token or secret data.
public enum KubernetesAPIError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not running in a pod with API access: a variable, the token or the CA is missing.
    case notInCluster(String)
    /// A namespace or object name that is not a valid Kubernetes name; nothing was sent.
    case invalidName(what: String, name: String, reason: String)
    /// 404, with the metav1.Status message.
    case notFound(String)
    /// 403, with the metav1.Status message (RBAC refused the read).
    case forbidden(String)
    /// 401: the token was refused.
    case unauthorized(String)
    /// Any other non-2xx answer.
    case status(code: Int, message: String)
    /// The answer was larger than the limit.
    case tooLarge(limit: Int)
    /// No answer within the timeout.
    case timeout(after: Duration)
    /// Connection or TLS failure.
    case transport(String)
    /// A 2xx answer that is not the expected object.
    case invalidResponse(String)

    public var description: String {
        switch self {
        case .notInCluster(let reason): "not running in a Kubernetes pod with API access: \(reason)"
        case .invalidName(let what, let name, let reason): "invalid \(what) \(quoted(name)): \(reason)"
        case .notFound(let message): "not found: \(message)"
        case .forbidden(let message): "forbidden: \(message)"
        case .unauthorized(let message): "unauthorized: \(message)"
        case .status(let code, let message): "HTTP \(code): \(message)"
        case .tooLarge(let limit): "the API server's answer is larger than \(limit) bytes"
        case .timeout(let after): "the API server did not answer within \(after)"
        case .transport(let reason): "cannot reach the API server: \(reason)"
        case .invalidResponse(let reason): "unexpected answer from the API server: \(reason)"
        }
    }

    /// Answers that stay true for a while and so may be cached: the API server said no.
    var isDefinitive: Bool {
        switch self {
        case .notFound, .forbidden: true
        default: false
        }
    }
}

/// `"name"` with quotes and backslashes escaped and the text cut to 80 characters, so hostile input
/// cannot forge log lines.
func quoted(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars.prefix(80) {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case _ where scalar.value < 0x20 || scalar.value == 0x7F: out += "\\u{\(String(scalar.value, radix: 16))}"
        default: out.unicodeScalars.append(scalar)
        }
    }
    if text.unicodeScalars.count > 80 { out += "…" }
    return out + "\""
}
