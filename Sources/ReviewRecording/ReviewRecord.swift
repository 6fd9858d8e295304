import AdmissionModel
import JSON

/// Why a queued review could not be turned into a record.
struct RecordEncodingError: Error, Sendable, CustomStringConvertible {
    var description: String
}

/// The record file's content: a full AdmissionReview holding an allowlisted copy of the request,
/// and the response as sent.
///
/// Only what the decision reads and what identifies the review is kept; everything else is left
/// out, so secrets in args, probe headers, volume options, annotations or env never reach disk:
/// - the request: `uid`, `kind`, `resource`, `subResource`, `requestKind`, `requestResource`,
///   `requestSubResource`, `name`, `namespace`, `operation`, `userInfo.username`, `dryRun`;
/// - `object` and `oldObject`: `apiVersion`, `kind`; metadata `name`, `generateName`, `namespace`,
///   `uid`, `labels`, and `ownerReferences`' `apiVersion`, `kind`, `name`, `uid`, `controller`
///   (annotations are dropped: they are free text, often secrets);
/// - the pod spec, at its kind's path: `securityContext`, `os`, `nodeSelector`,
///   `affinity.nodeAffinity`, `hostUsers`, `serviceAccountName`, `imagePullSecrets`' names, and
///   for each container of `initContainers`, `containers` and `ephemeralContainers` its `name`,
///   `image` and `securityContext`.
/// A value of the wrong type at a kept path keeps only its type (`""`, `{}`, `[]`), so a record
/// is never larger than the review, and numbers, booleans and null are copied as written.
/// Duplicate members are written once, the last one, as the decision reads them.
enum ReviewRecord {
    /// `{"apiVersion":…,"kind":"AdmissionReview","request":<allowlisted request>,"response":<response>}`.
    static func encode(body: [UInt8], responseJSON: [UInt8]) throws(RecordEncodingError) -> [UInt8] {
        let document: JSONDocument
        let review: AdmissionReviewRequest
        do {
            document = try JSONDocument(parsing: body)
        } catch {
            throw RecordEncodingError(description: "the review is not JSON: \(error)")
        }
        do {
            review = try AdmissionReviewRequest(json: document.root)
        } catch {
            throw RecordEncodingError(description: "not an AdmissionReview: \(error)")
        }
        guard let request = review.isBareRequest ? document.root : document.root["request"] else {
            throw RecordEncodingError(description: "the AdmissionReview has no request")
        }
        let responseDocument: JSONDocument
        do {
            responseDocument = try JSONDocument(parsing: responseJSON)
        } catch {
            throw RecordEncodingError(description: "the response is not JSON: \(error)")
        }
        var response = responseDocument.root
        // Accept the whole response envelope too, and store only its `response`.
        if response["kind"]?.string == "AdmissionReview", let inner = response["response"] { response = inner }
        guard response.isObject else {
            throw RecordEncodingError(description: "the response is \(response.typeName), not an AdmissionResponse object")
        }

        var writer = JSONWriter(capacity: body.count + responseJSON.count + 96)
        writer.beginObject()
        writer.key("apiVersion")
        writer.string(review.apiVersion.rawValue)
        writer.key("kind")
        writer.string("AdmissionReview")
        writer.key("request")
        copy(request, as: Keep.request(objectKeep(review.request.podSpecKind)), into: &writer)
        writer.key("response")
        writer.raw(response.rawBytes)
        writer.endObject()
        return writer.bytes
    }

    /// The most memory `encode` holds for a body and response: both texts, their parse tapes, and
    /// the record (never larger than the two together).
    static func encodingBytes(body: [UInt8], response: [UInt8]) -> Int {
        2 * (body.count + response.count) + JSONDocument.parseBytesBound(of: body)
            + JSONDocument.parseBytesBound(of: response) + 128
    }

    /// What is kept of a value.
    indirect enum Keep: Sendable {
        /// A string, number, boolean or null, as written.
        case scalar
        /// The whole value: only for typed API fields the decision reads, with no free text.
        case whole
        /// An object: these members, in this order.
        case members([(String, Keep)])
        /// An array: each element, kept as given.
        case elements(Keep)

        static let groupVersionKind = Keep.members([("group", .scalar), ("version", .scalar), ("kind", .scalar)])
        static let groupVersionResource = Keep.members([("group", .scalar), ("version", .scalar), ("resource", .scalar)])

        static func request(_ object: Keep) -> Keep {
            .members([
                ("uid", .scalar), ("kind", groupVersionKind), ("resource", groupVersionResource), ("subResource", .scalar),
                ("requestKind", groupVersionKind), ("requestResource", groupVersionResource), ("requestSubResource", .scalar),
                ("name", .scalar), ("namespace", .scalar), ("operation", .scalar),
                ("userInfo", .members([("username", .scalar)])),
                ("object", object), ("oldObject", object), ("dryRun", .scalar),
            ])
        }

        static let metadata = Keep.members([
            ("name", .scalar), ("generateName", .scalar), ("namespace", .scalar), ("uid", .scalar), ("labels", .whole),
            ("ownerReferences", .elements(.members([
                ("apiVersion", .scalar), ("kind", .scalar), ("name", .scalar), ("uid", .scalar), ("controller", .scalar),
            ]))),
        ])

        static let container = Keep.members([("name", .scalar), ("image", .scalar), ("securityContext", .whole)])

        static let podSpec = Keep.members([
            ("securityContext", .whole), ("os", .whole), ("nodeSelector", .whole),
            ("affinity", .members([("nodeAffinity", .whole)])), ("hostUsers", .scalar),
            ("serviceAccountName", .scalar), ("imagePullSecrets", .elements(.members([("name", .scalar)]))),
            ("initContainers", .elements(container)), ("containers", .elements(container)),
            ("ephemeralContainers", .elements(container)),
        ])
    }

    /// What is kept of `object` and `oldObject`: identity, and the pod spec where `kind` keeps it.
    static func objectKeep(_ kind: PodSpecKind?) -> Keep {
        var members: [(String, Keep)] = [("apiVersion", .scalar), ("kind", .scalar), ("metadata", Keep.metadata)]
        if let kind {
            var keep = Keep.podSpec
            for step in kind.specPath.split(separator: ".").reversed() { keep = .members([(String(step), keep)]) }
            if case .members(let path) = keep { members += path }
        }
        return .members(members)
    }

    /// Writes what `keep` keeps of `value`, compactly.
    static func copy(_ value: JSONValue, as keep: Keep, into writer: inout JSONWriter) {
        switch keep {
        case .whole:
            writer.raw(value.rawBytes)
        case .members(let members) where value.isObject:
            writer.beginObject()
            for (name, memberKeep) in members {
                // The last duplicate, as `JSONValue` and the decision read it.
                guard let member = value.member(name) else { continue }
                writer.key(name)
                copy(member, as: memberKeep, into: &writer)
            }
            writer.endObject()
        case .elements(let elementKeep) where value.isArray:
            writer.beginArray()
            for element in value.elements { copy(element, as: elementKeep, into: &writer) }
            writer.endArray()
        default:
            // A scalar where a scalar is kept; otherwise only the value's type, never its content.
            if value.isObject {
                writer.beginObject()
                writer.endObject()
            } else if value.isArray {
                writer.beginArray()
                writer.endArray()
            } else if value.isString, case .scalar = keep {
                writer.raw(value.rawBytes)
            } else if value.isString {
                writer.string("")
            } else {
                writer.raw(value.rawBytes)
            }
        }
    }

    /// The uid as a file name part: `[A-Za-z0-9-]` only, at most 64 characters, never empty.
    static func sanitizedUID(_ uid: String) -> String {
        var result = ""
        for byte in uid.utf8.prefix(64) {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                result.append("-")
            }
        }
        return result.isEmpty ? "no-uid" : result
    }
}
