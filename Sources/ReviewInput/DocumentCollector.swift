import AdmissionModel
import JSON

/// Collects what one file yields: classifies each parsed document, converts audit events and
/// manifests, numbers the documents and, at the end, labels them and adds the file's notes.
///
/// Every unit of the file takes the next document number: a YAML document, a JSON Lines line, a
/// value of a JSON text sequence, an element of a top-level array, an item of a List. A unit that
/// could not be parsed takes one too, so `FILE#N` always names the N-th unit of the file.
struct DocumentCollector {
    let file: String
    let kind: InputKind

    /// Document numbers handed out so far.
    private(set) var unitCount = 0
    /// Reading stopped at an error after which more documents may follow.
    private var stopped = false
    private var pending: [Pending] = []

    /// Audit: the slot in `pending` of the event kept for each auditID, and its stage's rank.
    private var auditKept: [String: (slot: Int, rank: Int)] = [:]
    /// Audit: skipped events per auditID (not counted if another event of that ID is kept).
    private var auditSkipped: [String: Int] = [:]
    private var auditSkippedWithoutID = 0

    private enum Pending {
        case document(unit: Int, bytes: [UInt8])
        case unitError(unit: Int, reason: String)
        case located(line: Int, column: Int?, reason: String)
        case replaced
    }

    init(file: String, kind: InputKind) {
        self.file = file
        self.kind = kind
    }

    // MARK: - Input from the format readers

    /// A parsed top-level value: an array's elements are documents of their own.
    mutating func add(_ value: JSONValue) {
        if value.isArray {
            for element in value.elements { addDocument(element) }
        } else {
            addDocument(value)
        }
    }

    /// A unit that could not be parsed or converted; reading goes on with the next one.
    mutating func addUnreadable(line: Int?, column: Int?, reason: String) {
        unitCount += 1
        if let line {
            pending.append(.located(line: line, column: column, reason: reason))
        } else {
            pending.append(.unitError(unit: unitCount, reason: reason))
        }
    }

    /// An error that ends reading of the file (documents after it are not read).
    mutating func stop(line: Int?, column: Int?, reason: String) {
        stopped = true
        if let line {
            pending.append(.located(line: line, column: column, reason: reason))
        } else {
            pending.append(.unitError(unit: 0, reason: reason))
        }
    }

    // MARK: - Classification

    private mutating func addDocument(_ value: JSONValue) {
        guard value.isObject else {
            unitCount += 1
            pending.append(.unitError(unit: unitCount, reason: "not an object (found \(value.typeName))"))
            return
        }
        let kindName = value["kind"]?.string
        let apiVersion = value["apiVersion"]?.string

        // Lists: an audit EventList always, any `…List` with items when checking manifests.
        if let kindName, kindName.hasSuffix("List"), let items = value["items"], items.isArray,
           (kindName == "EventList" && Self.isAuditVersion(apiVersion)) || kind == .manifests {
            for item in items.elements { addDocument(item) }
            return
        }

        unitCount += 1
        let unit = unitCount
        if kindName == "AdmissionReview" || (kindName == nil && value["request"]?.isObject == true) {
            pending.append(.document(unit: unit, bytes: Array(value.rawBytes)))
        } else if value["operation"] != nil, value["uid"] != nil {
            pending.append(.document(unit: unit, bytes: Array(value.rawBytes)))
        } else if kindName == "Event", Self.isAuditVersion(apiVersion) {
            addAuditEvent(value, unit: unit)
        } else if kind == .manifests {
            guard let kindName, !kindName.isEmpty, let apiVersion, !apiVersion.isEmpty else {
                pending.append(.unitError(unit: unit, reason: "not a Kubernetes object: missing kind/apiVersion"))
                return
            }
            // A kind we check, under an apiVersion the cluster does not serve (`v1` Deployment): the
            // cluster would refuse it, and evaluating it as some other kind would pass it silently.
            if let known = PodSpecKind(rawValue: kindName), !ManifestRequest.servedAPIVersions(of: known).contains(apiVersion) {
                let expected = ManifestRequest.servedAPIVersions(of: known).joined(separator: " or ")
                pending.append(.unitError(unit: unit, reason: "kind \(kindName) has apiVersion \"\(apiVersion)\", which Kubernetes does not serve; expected \(expected)"))
                return
            }
            pending.append(.document(unit: unit, bytes: ManifestRequest.wrap(value, kind: kindName, apiVersion: apiVersion)))
        } else {
            let what = kindName.map { "kind \"\($0)\"" } ?? "no kind"
            pending.append(.unitError(unit: unit, reason: "not an AdmissionReview, AdmissionRequest or audit Event (\(what))"))
        }
    }

    private static func isAuditVersion(_ apiVersion: String?) -> Bool {
        apiVersion?.hasPrefix("audit.k8s.io/") == true
    }

    private mutating func addAuditEvent(_ event: JSONValue, unit: Int) {
        let auditID = event["auditID"]?.string.flatMap { $0.isEmpty ? nil : $0 }
        guard let request = AuditConversion.request(from: event) else {
            if let auditID {
                auditSkipped[auditID, default: 0] += 1
            } else {
                auditSkippedWithoutID += 1
            }
            return
        }
        let rank = AuditConversion.stageRank(event["stage"]?.string)
        guard let auditID else {
            pending.append(.document(unit: unit, bytes: request))
            return
        }
        if let kept = auditKept[auditID] {
            // The same request seen at another stage: keep the later stage's event.
            guard rank > kept.rank else { return }
            pending[kept.slot] = .replaced
        }
        auditKept[auditID] = (pending.count, rank)
        pending.append(.document(unit: unit, bytes: request))
    }

    // MARK: - Result

    /// The file's items: documents and errors in file order, then its notes.
    func finish() -> [InputItem] {
        let single = unitCount == 1 && !stopped
        var items: [InputItem] = []
        items.reserveCapacity(pending.count + 1)
        for entry in pending {
            switch entry {
            case .document(let unit, let bytes):
                items.append(.document(InputDocument(source: single ? file : "\(file)#\(unit)", bytes: bytes)))
            case .unitError(let unit, let reason):
                let document = single || unit == 0 ? nil : unit
                items.append(.error(InputError(file: file, document: document, reason: reason)))
            case .located(let line, let column, let reason):
                items.append(.error(InputError(file: file, line: line, column: column, reason: reason)))
            case .replaced:
                break
            }
        }
        var skipped = auditSkippedWithoutID
        for (auditID, count) in auditSkipped where auditKept[auditID] == nil {
            skipped += count
        }
        if skipped > 0 {
            let events = skipped == 1 ? "1 audit event that is not" : "\(skipped) audit events that are not"
            items.append(.note("\(file): skipped \(events) a create or update of a pod or workload with its object (needs level Request or RequestResponse)"))
        } else if items.isEmpty {
            items.append(.note("\(file): no documents found"))
        }
        return items
    }
}
