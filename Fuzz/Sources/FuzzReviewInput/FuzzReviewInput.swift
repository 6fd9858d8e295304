// The readers behind `replay` and `check`: JSON, JSON Lines, JSON text sequences, multi-document
// YAML, audit events and manifests, through InputReader.read(bytes:label:fileExtension:as:), the
// in-memory form of reading one file. The first input byte picks the file extension and the kind of
// input. Never a crash; every document is a JSON object the decision pipeline can take, and every
// item names the file and a plausible place.
import AdmissionCore
import AdmissionModel
import FuzzSupport
import JSON
import ReviewInput

let extensions = ["json", "jsonl", "yaml", "", "log", "ndjson", "yml", "txt"]
let label = "fuzz.in"
let decider = AdmissionDecider(configuration: DecisionConfiguration(policy: .restricted))

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let (selector, body) = splitSelector(fuzzInput(data, size))
    let fileExtension = extensions[Int(selector) % extensions.count]
    let kind: InputKind = selector & 0x08 == 0 ? .reviews : .manifests
    let items = InputReader.read(bytes: body, label: label, fileExtension: fileExtension, as: kind)
    require(!items.isEmpty, "no items at all")
    var documents = 0
    for item in items {
        switch item {
        case .document(let document):
            documents += 1
            require(document.source == label || document.source.hasPrefix(label + "#"), "source \(document.source)")
            if document.source != label {
                require(Int(document.source.dropFirst(label.count + 1)).map { $0 >= 1 } == true, "document number in \(document.source)")
            }
            // A document is one JSON object: what the server and `replay` decide.
            guard let parsed = try? JSONDocument(parsing: document.bytes) else {
                fatalError("document \(document.source) is not JSON: \(show(document.bytes))")
            }
            require(parsed.root.isObject, "document \(document.source) is not an object")
            _ = try? decider.decide(bytes: document.bytes, images: { _ in .unresolved(reason: "fuzz") })
        case .error(let error):
            require(error.file == label, "error names file \(error.file)")
            require(!error.reason.isEmpty, "error without a reason")
            require(error.line.map { $0 >= 1 } ?? true, "line \(String(describing: error.line))")
            require(error.column.map { $0 >= 1 } ?? true, "column \(String(describing: error.column))")
            require(error.column == nil || error.line != nil, "a column without a line")
            require(error.document.map { $0 >= 1 } ?? true, "document \(String(describing: error.document))")
            _ = error.description
        case .note(let note):
            require(note.hasPrefix(label + ": "), "note \(note)")
        }
    }
    // A whole valid JSON object in a .json file passes through byte for byte.
    if fileExtension == "json", let whole = try? JSONDocument(parsing: body), whole.root.isObject, documents == 1,
       case .document(let document) = items[0] {
        let kindName = whole.root["kind"]?.string
        if kindName == "AdmissionReview" || whole.root["request"]?.isObject == true && kindName == nil {
            require(document.bytes == Array(whole.root.rawBytes), "a .json AdmissionReview is not passed through")
        }
    }
    return 0
}
