import AdmissionCore
import AdmissionModel
import ImageConfig
import ImageRegistry
import ImageResolution
import JSON
import NonRootPolicy
import ReviewInput
import Synchronization

/// Decides every input of `replay` or `check` and prints the results.
struct ReviewRunner {
    var configuration: DecisionConfiguration
    var images: ImageLookup
    /// The longest one review's image lookups may take.
    var lookupTimeout = RegistryConfiguration.defaultTimeout
    var format: OutputFormat
    var suiteName: String

    enum Row {
        case decided(source: String, decision: Decision)
        case failed(source: String, reason: String)
    }

    /// Returns the exit status (2 if any input failed, else 1 if any review was denied, else 0) and
    /// what the registry answered, by reference.
    func run(_ items: [InputItem]) async -> (status: Int32, resolved: [String: ResolvedImage]) {
        let pipeline = AdmissionPipeline(configuration: configuration)
        let source = RecordingImages(images: images)
        var rows: [Row] = []
        for item in items {
            switch item {
            case .note(let note):
                Console.error("note: \(note)")
            case .error(let error):
                Console.error("error: \(error)")
                rows.append(.failed(source: error.source, reason: error.reason))
            case .document(let document):
                let prepared: PreparedReview
                do throws(AdmissionDecodingError) {
                    prepared = try pipeline.prepare(bytes: document.bytes)
                } catch {
                    Console.error("error: \(document.source): \(error)")
                    rows.append(.failed(source: document.source, reason: error.description))
                    continue
                }
                let decision = await pipeline.decide(prepared, images: source, deadline: .now + lookupTimeout)
                rows.append(.decided(source: document.source, decision: decision))
                if format == .json { Console.output(jsonLine(source: document.source, decision: decision)) }
            }
        }
        switch format {
        case .json: break
        case .text: Console.output(TextReport(rows: rows).render())
        case .junit: Console.output(JUnitReport(name: suiteName, rows: rows).render())
        }
        let resolved = source.resolved
        if rows.contains(where: { if case .failed = $0 { true } else { false } }) { return (2, resolved) }
        if rows.contains(where: { if case .decided(_, let d) = $0 { d.outcome == .denied } else { false } }) { return (1, resolved) }
        return (0, resolved)
    }

    func jsonLine(source: String, decision: Decision) -> String {
        var writer = JSONWriter(capacity: 512)
        writer.beginObject()
        writer.key("source")
        writer.string(source)
        writer.key("response")
        writer.raw(decision.responseJSON)
        if let skip = decision.skipReason {
            // The response alone ("allowed") would not say that nothing was checked.
            writer.key("notEvaluated")
            writer.string(skip)
        }
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

/// The images of `replay` and `check`: the catalog, then the registry, keeping every registry answer
/// for `replay --write-images`.
final class RecordingImages: ImageUserSource {
    let images: ImageLookup
    private let answers = Mutex<[String: ResolvedImage]>([:])

    init(images: ImageLookup) {
        self.images = images
    }

    /// What the registry answered, by pinned reference.
    var resolved: [String: ResolvedImage] { answers.withLock { $0 } }

    func known(_ image: String) -> ImageUserLookup? {
        images.knownOffline(image)
    }

    func lookUp(_ image: String, deadline: ContinuousClock.Instant) async -> ImageUserLookup {
        guard let registry = images.registry else { return images.catalog.lookup(image) }
        switch await registry.resolve(image, deadline: deadline) {
        case .success(let answer):
            answers.withLock { $0[answer.reference.description] = answer }
            return answer.lookup
        case .failure(let error):
            return .unresolved(reason: error.description)
        }
    }
}
