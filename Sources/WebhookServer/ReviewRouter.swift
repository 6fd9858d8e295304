import AdmissionCore
import NIOCore
import NIOHTTP1

/// Routes and validates: `POST` of `application/json` to `/validate`, `/validate/enforce` or
/// `/validate/dry-run`, with a declared length within `--max-body-bytes`. Anything else is refused with a
/// `metav1.Status` and the connection closed; the rest of that request is dropped.
final class ReviewRouter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = RoutedRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let shared: WebhookContext
    private let writer: ResponseWriter
    /// Whether the parts of the current request go on, or are dropped after a refusal.
    private var forwarding = false

    init(context: WebhookContext, isHTTP2: Bool) {
        self.shared = context
        self.writer = ResponseWriter(isHTTP2: isHTTP2)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            switch route(head) {
            case .success(let routed):
                forwarding = true
                context.fireChannelRead(wrapInboundOut(.head(routed)))
            case .failure(let refusal):
                forwarding = false
                writer.refuse(refusal, head: head, keepAlive: false, shared: shared, context: context)
            }
        case .body(let chunk):
            if forwarding { context.fireChannelRead(wrapInboundOut(.body(chunk))) }
        case .end:
            if forwarding { context.fireChannelRead(wrapInboundOut(.end)) }
            forwarding = false
        }
    }

    /// The review head, or why the request is refused.
    func route(_ head: HTTPRequestHead) -> Result<RoutedHead, HTTPErrorResponse> {
        let path = ReviewRouter.path(of: head.uri)
        let mode: EnforcementMode?
        switch path {
        case "/validate": mode = nil
        case "/validate/enforce": mode = .enforce
        case "/validate/dry-run": mode = .dryRun
        default:
            return .failure(HTTPErrorResponse(status: .notFound, message: "no such path \(path); use POST /validate, /validate/enforce or /validate/dry-run"))
        }
        guard head.method == .POST else {
            return .failure(HTTPErrorResponse(status: .methodNotAllowed, message: "method \(head.method.rawValue) is not allowed on \(path); use POST", extraHeaders: [("allow", "POST")]))
        }
        let contentType = head.headers.first(name: "content-type") ?? ""
        guard ReviewRouter.isJSON(contentType) else {
            return .failure(HTTPErrorResponse(status: .unsupportedMediaType, message: "content type \"\(contentType)\" is not supported; send application/json"))
        }
        let length = head.headers.first(name: "content-length").flatMap { Int($0) }
        if let length, length > shared.limits.maximumBodyBytes {
            return .failure(HTTPErrorResponse(status: .payloadTooLarge, message: "request body of \(length) bytes is larger than \(shared.limits.maximumBodyBytes) bytes"))
        }
        return .success(RoutedHead(head: head, mode: mode, declaredLength: length))
    }

    /// The path of a request URI, without its query. Searched as UTF-8: a search by Character costs 3k
    /// instructions on every request.
    static func path(of uri: String) -> String {
        guard let query = uri.utf8.firstIndex(of: UInt8(ascii: "?")) else { return uri }
        return String(uri[..<query])
    }

    /// `application/json`, with or without parameters such as `charset=utf-8`, in any case, with spaces
    /// or tabs around the media type. Compared byte by byte: it runs on every request.
    static func isJSON(_ contentType: String) -> Bool {
        let expected: StaticString = "application/json"
        var contentType = contentType
        return contentType.withUTF8 { bytes in
            var end = bytes.firstIndex(of: UInt8(ascii: ";")) ?? bytes.count
            var start = 0
            func blank(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
            while start < end, blank(bytes[start]) { start += 1 }
            while end > start, blank(bytes[end - 1]) { end -= 1 }
            guard end - start == expected.utf8CodeUnitCount else { return false }
            return expected.withUTF8Buffer { wanted in
                for offset in 0..<wanted.count {
                    let byte = bytes[start + offset]
                    // ASCII lower-casing; `wanted` is lower case already.
                    if (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte) != wanted[offset] { return false }
                }
                return true
            }
        }
    }
}
