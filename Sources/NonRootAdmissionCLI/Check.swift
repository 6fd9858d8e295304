import ArgumentParser
import ImageRegistry
import ReviewInput

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
