import AdmissionCore
public import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import ImageResolution
import NonRootPolicy

extension PolicyName: ExpressibleByArgument {}
extension EnforcementMode: ExpressibleByArgument {}
extension UnresolvedAction: ExpressibleByArgument {}

/// Output formats of `replay` and `check`.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json, junit
}

/// Options shared by every command that decides reviews.
struct DecisionOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Image catalog: YAML or JSON mapping image references to their config USER.", valueName: "file"))
    var images: String?

    @Option(name: .long, help: "Rule set: kubelet (what the kubelet will refuse) or restricted (plus Pod Security restricted's non-root checks).")
    var policy: PolicyName = DecisionConfiguration.standard.policy

    @Option(name: .long, help: "enforce denies; dry-run only warns and records would-deny.")
    var mode: EnforcementMode = DecisionConfiguration.standard.mode

    @Option(name: .long, help: "When an image's USER cannot be determined: allow, warn (allow with a warning) or deny.")
    var unresolved: UnresolvedAction = DecisionConfiguration.standard.unresolved

    @Option(name: .long, help: ArgumentHelp("Containers evaluated per review; the rest are reported with a warning and treated as --unresolved says.", valueName: "n"))
    var maxContainersPerReview: Int = ReviewLimits.defaultMaximumContainers

    @Option(name: .long, help: ArgumentHelp("Distinct images looked up per review; later ones are unresolved, with a reason naming this bound.", valueName: "n"))
    var maxImagesPerReview: Int = ReviewLimits.defaultMaximumImages

    @Option(name: .long, help: ArgumentHelp("OSes of the cluster's nodes, comma-separated: linux, windows. A Linux-only cluster says linux: pods are then never judged by the Windows kubelet's rules, which need every image's user.", valueName: "os,..."))
    var nodeOS = NodeOSList(DecisionConfiguration.standard.nodeOSes)

    func validate() throws {
        guard maxContainersPerReview > 0, maxImagesPerReview > 0 else {
            throw ValidationError("--max-containers-per-review and --max-images-per-review must be positive")
        }
        _ = try nodeOS.parsed.get()
    }

    var configuration: DecisionConfiguration {
        DecisionConfiguration(
            policy: policy, mode: mode, unresolved: unresolved,
            limits: ReviewLimits(maximumContainers: maxContainersPerReview, maximumImages: maxImagesPerReview),
            nodeOSes: (try? nodeOS.parsed.get()) ?? DecisionConfiguration.standard.nodeOSes)
    }

    /// The catalog named by `--images`; an unreadable one is reported and exits with status 2.
    func loadCatalog() throws -> ImageCatalog {
        guard let images else { return ImageCatalog() }
        guard let data = FileManager.default.contents(atPath: images) else {
            Console.error("error: \(images): cannot read the image catalog")
            throw ExitCode(2)
        }
        do {
            return try ImageCatalog.parse(String(decoding: data, as: UTF8.self), source: images)
        } catch {
            Console.error("error: \(error)")
            throw ExitCode(2)
        }
    }
}

/// `--node-os`, parsed once as it is read: the OSes named (each once, in `NodeOS.allCases` order), or
/// the error `validate` reports. Reading never fails, so the error keeps its own wording.
struct NodeOSList: ExpressibleByArgument {
    var text: String
    var parsed: Result<[NodeOS], ValidationError>

    init(_ oses: [NodeOS]) {
        text = oses.map(\.rawValue).joined(separator: ",")
        parsed = .success(oses)
    }

    init(argument: String) {
        text = argument
        var named = Set<NodeOS>()
        for name in argument.split(separator: ",", omittingEmptySubsequences: false) {
            let trimmed = String(name.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
            guard let os = NodeOS(rawValue: trimmed) else {
                parsed = .failure(ValidationError("--node-os takes linux and windows, comma-separated; got \"\(trimmed)\""))
                return
            }
            named.insert(os)
        }
        parsed = .success(NodeOS.allCases.filter(named.contains))
    }

    var defaultValueDescription: String { text }
}
