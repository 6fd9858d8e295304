import AdmissionCore
import AdmissionModel
import ImageResolution
import NonRootPolicy
import ReviewInput

/// Decides every input of `replay` or `check` and prints the results.
struct ReviewRunner {
    var configuration: DecisionConfiguration
    var catalog: ImageCatalog
    var format: OutputFormat
    var suiteName: String

    enum Row {
        case decided(source: String, decision: Decision)
        case failed(source: String, reason: String)
    }

    /// Returns the exit status: 2 if any input failed, else 1 if any review was denied, else 0.
    func run(_ items: [InputItem]) -> Int32 {
        let decider = AdmissionDecider(configuration: configuration)
        var rows: [Row] = []
        for item in items {
            switch item {
            case .note(let note):
                Console.error("note: \(note)")
            case .error(let error):
                Console.error("error: \(error)")
                rows.append(.failed(source: error.source, reason: error.reason))
            case .document(let document):
                do throws(AdmissionDecodingError) {
                    let decision = try decider.decide(bytes: document.bytes) { catalog.lookup($0) }
                    rows.append(.decided(source: document.source, decision: decision))
                    if format == .json { Console.output(jsonLine(source: document.source, decision: decision)) }
                } catch {
                    Console.error("error: \(document.source): \(error)")
                    rows.append(.failed(source: document.source, reason: error.description))
                }
            }
        }
        switch format {
        case .json: break
        case .text: Console.output(TextReport(rows: rows).render())
        case .junit: Console.output(JUnitReport(name: suiteName, rows: rows).render())
        }
        if rows.contains(where: { if case .failed = $0 { true } else { false } }) { return 2 }
        if rows.contains(where: { if case .decided(_, let d) = $0 { d.outcome == .denied } else { false } }) { return 1 }
        return 0
    }

    func jsonLine(source: String, decision: Decision) -> String {
        var writer = JSONWriter(capacity: 512)
        writer.beginObject()
        writer.key("source")
        writer.string(source)
        writer.key("response")
        writer.raw(decision.responseJSON)
        writer.endObject()
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}

extension InputError {
    /// The file and position, as `FILE:LINE:COL` or `FILE#N`.
    var source: String {
        if let line { return "\(file):\(line)\(column.map { ":\($0)" } ?? "")" }
        if let document { return "\(file)#\(document)" }
        return file
    }
}
