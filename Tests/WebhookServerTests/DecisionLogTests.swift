@testable import AdmissionCore
import AdmissionModel
import Logging
import NonRootPolicy
import Testing
@testable import WebhookServer

// The decision line: the direct path (members written in key order) must write byte for byte the line
// swift-log's path writes for the same metadata, for every combination of the optional members.

/// 2026-11-29T06:30:00.123456789Z.
private let fixedTime: @Sendable () -> (seconds: Int, nanoseconds: Int) = { (1_795_933_800, 123_456_789) }

private func logger(_ log: CapturedLog, metadata: Logger.Metadata = [:]) -> Logger {
    Logger(label: "nonroot-admission") { label in
        var handler = JSONLogHandler(label: label, level: .info, output: .custom { log.append($0) }, clock: fixedTime)
        handler.metadataProvider = nil
        handler.metadata = metadata
        return handler
    }
}

private func decision(reasons: [String] = [], skipped: String? = nil, unresolved: [String] = [], namespace: String = "shop") -> Decision {
    Decision(
        apiVersion: .v1, response: AdmissionResponse(uid: "0df28fbd-5f5f-11e8-9a01-42010a8a0002", allowed: reasons.isEmpty),
        outcome: reasons.isEmpty ? .allowed : .denied, mode: .enforce, skipReason: skipped,
        findings: [], sentences: reasons,
        unresolved: unresolved.map { UnresolvedImage(container: "app", image: $0, reason: "not in the catalog", subject: .pod(name: "web", namespace: namespace, uid: "u")) },
        kind: "Pod", namespace: namespace, name: "web", operation: "CREATE", username: "system:serviceaccount:kube-system:replicaset-controller")
}

@Suite("decision log line")
struct DecisionLogTests {
    @Test("the direct path is taken for the server's own handler, and writes the exact line")
    func exactLine() {
        let log = CapturedLog()
        let decisionLog = DecisionLog(logger: logger(log))
        #expect(decisionLog.isDirect)
        decisionLog.log(decision(reasons: [#"container has runAsNonRoot and image will run as root (pod: "web_shop(u)", container: app)"#]), elapsed: .microseconds(41), isHTTP2: false)
        #expect(log.lines == [
            #"{"time":"2026-11-29T06:30:00.123456Z","level":"info","logger":"nonroot-admission","message":"admission decision","decision":"denied","kind":"Pod","latencyMicroseconds":"41","mode":"enforce","object":"shop/web","operation":"CREATE","protocol":"http/1.1","reasons":["container has runAsNonRoot and image will run as root (pod: \"web_shop(u)\", container: app)"],"uid":"0df28fbd-5f5f-11e8-9a01-42010a8a0002","user":"system:serviceaccount:kube-system:replicaset-controller"}"#,
        ])
    }

    @Test("direct and swift-log lines are identical", arguments: 0..<32)
    func sameLine(combination: Int) {
        let made = decision(
            reasons: combination & 1 != 0 ? ["first \"quoted\"\nline", "second"] : [],
            skipped: combination & 2 != 0 ? "DELETE is not evaluated" : nil,
            unresolved: combination & 4 != 0 ? ["registry.example/app:1", "busybox"] : [],
            namespace: combination & 8 != 0 ? "" : "shop")
        let isHTTP2 = combination & 16 != 0
        let direct = CapturedLog()
        DecisionLog(logger: logger(direct)).log(made, elapsed: .microseconds(1234), isHTTP2: isHTTP2)
        let viaSwiftLog = CapturedLog()
        logger(viaSwiftLog).info("admission decision", metadata: DecisionLog.metadata(made, elapsed: .microseconds(1234), isHTTP2: isHTTP2))
        #expect(direct.lines.count == 1)
        #expect(direct.lines == viaSwiftLog.lines)
    }

    @Test("a handler with metadata of its own goes through swift-log, which merges it")
    func handlerMetadataMerged() {
        let log = CapturedLog()
        let decisionLog = DecisionLog(logger: logger(log, metadata: ["pod": "nonroot-admission-0"]))
        #expect(!decisionLog.isDirect)
        decisionLog.log(decision(), elapsed: .microseconds(7), isHTTP2: true)
        #expect(log.lines == [
            #"{"time":"2026-11-29T06:30:00.123456Z","level":"info","logger":"nonroot-admission","message":"admission decision","decision":"allowed","kind":"Pod","latencyMicroseconds":"7","mode":"enforce","object":"shop/web","operation":"CREATE","pod":"nonroot-admission-0","protocol":"h2","uid":"0df28fbd-5f5f-11e8-9a01-42010a8a0002","user":"system:serviceaccount:kube-system:replicaset-controller"}"#,
        ])
    }

    @Test("below the handler's level, nothing is written")
    func levelFiltered() {
        let log = CapturedLog()
        let quiet = Logger(label: "nonroot-admission") { label in
            JSONLogHandler(label: label, level: .warning, output: .custom { log.append($0) }, clock: fixedTime)
        }
        let decisionLog = DecisionLog(logger: quiet)
        #expect(decisionLog.isDirect)
        decisionLog.log(decision(), elapsed: .microseconds(7), isHTTP2: false)
        #expect(log.lines.isEmpty)
    }
}
