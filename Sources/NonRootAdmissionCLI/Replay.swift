import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import ImageRegistry
import ReviewInput

struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decide recorded AdmissionReviews offline, exactly as the webhook would.",
        discussion: """
            Reads files and directories (recursively): JSON, JSON Lines and multi-document YAML holding \
            AdmissionReviews or bare AdmissionRequests, and Kubernetes audit logs (audit.k8s.io/v1 Events at \
            level Request or RequestResponse). An object with a repeated key is an error. Reviews allowed without \
            being evaluated say so in every format. Exit status: 0 when every review is allowed, 1 when any is \
            denied, 2 when any input cannot be read or decoded.
            """
    )

    @OptionGroup var decision: DecisionOptions

    @OptionGroup(title: "Registry lookups") var registry: RegistryOptions

    @Option(name: .long, help: ArgumentHelp("With --registry: write every USER resolved to this catalog file, pinned by digest, for later offline replays.", valueName: "file"))
    var writeImages: String?

    @Option(name: .long, help: "Output: text (a table), json (one line per review) or junit (JUnit XML).")
    var format: OutputFormat = .text

    @Argument(help: ArgumentHelp("Files or directories to read.", valueName: "path"))
    var paths: [String]

    func validate() throws {
        if writeImages != nil && !registry.registry { throw ValidationError("--write-images needs --registry") }
    }

    func run() async throws {
        let catalog = try decision.loadCatalog()
        let configuration = try registry.configuration()
        let registryLookup = try RegistryOptions.registryLookup(configuration)
        let items = InputReader.read(paths: paths, as: .reviews)
        let runner = ReviewRunner(
            configuration: decision.configuration, images: ImageLookup(catalog: catalog, registry: registryLookup),
            lookupTimeout: registry.registryTimeout.duration, format: format, suiteName: "nonroot-admission replay")
        let (status, resolved) = await runner.run(items)
        await registryLookup?.shutdown()
        if let writeImages {
            let text = CatalogWriter.render(resolved.values.sorted { $0.reference.description < $1.reference.description })
            do {
                try Data(text.utf8).write(to: URL(fileURLWithPath: writeImages))
            } catch {
                Console.error("error: \(writeImages): cannot write the image catalog: \(error)")
                throw ExitCode(2)
            }
            Console.error("note: wrote \(resolved.count) \(resolved.count == 1 ? "image" : "images") to \(writeImages)")
        }
        if status != 0 { throw ExitCode(status) }
    }
}
