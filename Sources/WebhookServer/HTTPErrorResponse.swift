import AdmissionModel
import JSON
import NIOHTTP1

extension HTTPHeaders {
    /// The headers of a JSON answer: type, length, and `connection: close` when the server closes after it.
    static func json(length: Int, closing: Bool) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.reserveCapacity(3)
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "content-length", value: String(length))
        if closing { headers.add(name: "connection", value: "close") }
        return headers
    }
}

/// A refusal before any decision, as a `metav1.Status` body: the apiserver shows its message.
struct HTTPErrorResponse: Error {
    var status: HTTPResponseStatus
    var message: String
    var extraHeaders: [(String, String)] = []

    static func badRequest(_ message: String) -> Self { Self(status: .badRequest, message: message) }

    /// `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":…,"reason":…,"code":…}`
    var body: [UInt8] {
        var writer = JSONWriter(capacity: 160 + message.utf8.count)
        writer.beginObject()
        writer.key("kind")
        writer.string("Status")
        writer.key("apiVersion")
        writer.string("v1")
        writer.key("metadata")
        writer.beginObject()
        writer.endObject()
        writer.key("status")
        writer.string("Failure")
        writer.key("message")
        writer.string(message)
        writer.key("reason")
        writer.string(reason)
        writer.key("code")
        writer.int(Int(status.code))
        writer.endObject()
        return writer.bytes
    }

    /// The `metav1.StatusReason` for the code.
    var reason: String {
        switch status {
        case .badRequest: "BadRequest"
        case .notFound: "NotFound"
        case .methodNotAllowed: "MethodNotAllowed"
        case .requestTimeout: "Timeout"
        case .payloadTooLarge: "RequestEntityTooLarge"
        case .unsupportedMediaType: "UnsupportedMediaType"
        case .serviceUnavailable: "ServiceUnavailable"
        default: "InternalError"
        }
    }
}
