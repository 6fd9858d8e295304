import AdmissionCore
import AdmissionModel
import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import ImageRegistry
import JSON
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

struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check Kubernetes manifests before they are applied, as if each object were created.",
        discussion: """
            Reads YAML or JSON manifests (multi-document, Lists): Pods and workloads (Deployment, ReplicaSet, \
            StatefulSet, DaemonSet, Job, CronJob, ReplicationController, PodTemplate). Other kinds are allowed and \
            reported as not evaluated; one of these kinds under an apiVersion Kubernetes does not serve is an error. \
            Objects without a namespace are checked in "default"; a Pod's message names it NAME_NAMESPACE() because \
            it has no uid yet. Exit status as for replay.
            """
    )

    @OptionGroup var decision: DecisionOptions

    @OptionGroup(title: "Registry lookups") var registry: RegistryOptions

    @Option(name: .long, help: "Output: text (a table), json (one line per object) or junit (JUnit XML).")
    var format: OutputFormat = .text

    @Argument(help: ArgumentHelp("Manifest files or directories.", valueName: "file"))
    var files: [String]

    func run() async throws {
        let catalog = try decision.loadCatalog()
        let registryLookup = try RegistryOptions.registryLookup(try registry.configuration())
        let items = InputReader.read(paths: files, as: .manifests)
        let runner = ReviewRunner(
            configuration: decision.configuration, images: ImageLookup(catalog: catalog, registry: registryLookup),
            lookupTimeout: registry.registryTimeout.duration, format: format, suiteName: "nonroot-admission check")
        let (status, _) = await runner.run(items)
        await registryLookup?.shutdown()
        if status != 0 { throw ExitCode(status) }
    }
}

/// Writes registry answers as an image catalog: keys pinned by digest (and keeping the tag, so
/// tagged pod images match), one USER or one USER per platform of an index.
enum CatalogWriter {
    static func render(_ images: [ResolvedImage]) -> String {
        var out = "# Written by nonroot-admission replay --write-images: each image's config USER as its registry\n"
        out += "# served it, pinned by digest. Use it with --images for offline replays.\n"
        out += images.isEmpty ? "images: {}\n" : "images:\n"
        for image in images {
            var key = image.reference.name
            if let tag = image.reference.tag { key += ":" + tag }
            key += "@" + image.digest
            if image.isIndex {
                out += "  \(quoted(key)):\n"
                for variant in image.variants {
                    out += "    \(quoted(variant.platform?.description ?? "unknown")): \(quoted(variant.user ?? ""))\n"
                }
            } else {
                out += "  \(quoted(key)): \(quoted(image.variants.first?.user ?? ""))\n"
            }
        }
        return out
    }

    /// A YAML double-quoted scalar; JSON string syntax is a subset of it.
    static func quoted(_ text: String) -> String {
        var writer = JSONWriter(capacity: text.utf8.count + 2)
        writer.string(text)
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}
