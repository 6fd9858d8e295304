import AdmissionCore
import ArgumentParser
import ReviewInput

struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decide recorded AdmissionReviews offline, exactly as the webhook would.",
        discussion: """
            Reads files and directories (recursively): JSON, JSON Lines and multi-document YAML holding \
            AdmissionReviews or bare AdmissionRequests, and Kubernetes audit logs (audit.k8s.io/v1 Events at \
            level Request or RequestResponse). Exit status: 0 when every review is allowed, 1 when any is \
            denied, 2 when any input cannot be read or decoded.
            """
    )

    @OptionGroup var decision: DecisionOptions

    @Option(name: .long, help: "Output: text (a table), json (one line per review) or junit (JUnit XML).")
    var format: OutputFormat = .text

    @Argument(help: ArgumentHelp("Files or directories to read.", valueName: "path"))
    var paths: [String]

    func run() throws {
        let catalog = try decision.loadCatalog()
        let items = InputReader.read(paths: paths, as: .reviews)
        let status = ReviewRunner(configuration: decision.configuration, catalog: catalog, format: format, suiteName: "nonroot-admission replay").run(items)
        if status != 0 { throw ExitCode(status) }
    }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check Kubernetes manifests before they are applied, as if each object were created.",
        discussion: """
            Reads YAML or JSON manifests (multi-document, Lists): Pods and workloads (Deployment, ReplicaSet, \
            StatefulSet, DaemonSet, Job, CronJob, ReplicationController, PodTemplate). Other kinds are allowed. \
            Objects without a namespace are checked in "default"; a Pod's message names it NAME_NAMESPACE() because \
            it has no uid yet. Exit status as for replay.
            """
    )

    @OptionGroup var decision: DecisionOptions

    @Option(name: .long, help: "Output: text (a table), json (one line per object) or junit (JUnit XML).")
    var format: OutputFormat = .text

    @Argument(help: ArgumentHelp("Manifest files or directories.", valueName: "file"))
    var files: [String]

    func run() throws {
        let catalog = try decision.loadCatalog()
        let items = InputReader.read(paths: files, as: .manifests)
        let status = ReviewRunner(configuration: decision.configuration, catalog: catalog, format: format, suiteName: "nonroot-admission check").run(items)
        if status != 0 { throw ExitCode(status) }
    }
}
