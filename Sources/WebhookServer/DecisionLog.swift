import AdmissionCore
import Logging
import NIOCore

/// The info line logged for every decision:
///
/// ```
/// {"time":"…","level":"info","logger":"nonroot-admission","message":"admission decision","decision":"denied",
///  "kind":"Pod","latencyMicroseconds":"41","mode":"enforce","object":"shop/web","operation":"CREATE",
///  "protocol":"http/1.1","reasons":["…"],"uid":"…","user":"…"}
/// ```
///
/// `reasons`, `skipped` and `unresolvedImages` appear only when there are some. It runs on every review,
/// so when the logger's handler is the server's own `JSONLogHandler` (with no metadata of its own and no
/// provider to merge in), the members are written straight into the line in key order: no
/// `Logger.Metadata` dictionary to build and hash, no sort, about a quarter of the cost. Any other handler
/// gets the same metadata through swift-log.
struct DecisionLog: Sendable {
    static let message = "admission decision"

    let logger: Logger
    private let direct: JSONLogHandler?

    init(logger: Logger) {
        self.logger = logger
        if let handler = logger.handler as? JSONLogHandler, handler.acceptsSortedMetadata {
            direct = handler
        } else {
            direct = nil
        }
    }

    /// Whether lines skip swift-log's metadata dictionary.
    var isDirect: Bool { direct != nil }

    func log(_ decision: Decision, elapsed: Duration, isHTTP2: Bool) {
        if let direct {
            direct.log(level: .info, message: DecisionLog.message) { DecisionLog.write(decision, elapsed: elapsed, isHTTP2: isHTTP2, into: &$0) }
        } else {
            logger.info("\(DecisionLog.message)", metadata: DecisionLog.metadata(decision, elapsed: elapsed, isHTTP2: isHTTP2))
        }
    }

    static func metadata(_ decision: Decision, elapsed: Duration, isHTTP2: Bool) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            "uid": .string(decision.response.uid),
            "kind": .string(decision.kind),
            "object": .string(object(decision)),
            "operation": .string(decision.operation),
            "user": .string(decision.username),
            "decision": .string(decision.outcome.rawValue),
            "mode": .string(decision.mode.rawValue),
            "latencyMicroseconds": .string(latency(elapsed)),
            "protocol": .string(protocolName(isHTTP2: isHTTP2)),
        ]
        if !decision.sentences.isEmpty { metadata["reasons"] = .array(decision.sentences.map { .string($0) }) }
        if let skip = decision.skipReason { metadata["skipped"] = .string(skip) }
        if !decision.unresolved.isEmpty { metadata["unresolvedImages"] = .array(decision.unresolved.map { .string($0.image) }) }
        return metadata
    }

    /// The members of `metadata(_:elapsed:isHTTP2:)`, in UTF-8 byte order of their keys.
    static func write(_ decision: Decision, elapsed: Duration, isHTTP2: Bool, into members: inout JSONLogHandler.SortedMetadata) {
        members.string("decision", decision.outcome.rawValue)
        members.string("kind", decision.kind)
        members.string("latencyMicroseconds", latency(elapsed))
        members.string("mode", decision.mode.rawValue)
        members.string("object", object(decision))
        members.string("operation", decision.operation)
        members.string("protocol", protocolName(isHTTP2: isHTTP2))
        if !decision.sentences.isEmpty { members.strings("reasons", decision.sentences) }
        if let skip = decision.skipReason { members.string("skipped", skip) }
        members.string("uid", decision.response.uid)
        if !decision.unresolved.isEmpty { members.strings("unresolvedImages", decision.unresolved.lazy.map(\.image)) }
        members.string("user", decision.username)
    }

    private static func object(_ decision: Decision) -> String {
        decision.namespace.isEmpty ? decision.name : decision.namespace + "/" + decision.name
    }

    private static func latency(_ elapsed: Duration) -> String {
        String(TimeAmount(elapsed).nanoseconds / 1000)
    }

    private static func protocolName(isHTTP2: Bool) -> String {
        isHTTP2 ? "h2" : "http/1.1"
    }
}
