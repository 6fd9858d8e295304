import ArgumentParser
import ImageConfig
import ImageRegistry
import NonRootPolicy

/// `images`: what the registry says about images, platform by platform, and what the kubelet would do.
struct Images: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what the registry says about images: digest, and per platform the USER and the kubelet's verdict.",
        discussion: """
            The first thing to run when a denial surprises you. The verdict is the kubelet's for a container \
            with runAsNonRoot: true and no runAsUser. Exit status: 0 when every platform of every image would \
            run, 1 when any would be refused, 2 when any image cannot be resolved.
            """
    )

    @OptionGroup(title: "Registry lookups") var registry: RegistryOptions

    @Argument(help: ArgumentHelp("Image references, as a pod names them.", valueName: "image"))
    var images: [String]

    func run() async throws {
        guard let registryLookup = try RegistryOptions.registryLookup(try registry.configuration(enabled: true)) else { return }
        var status: Int32 = 0
        for image in images {
            let result = await registryLookup.resolve(image, deadline: .now + registry.registryTimeout.duration)
            switch result {
            case .failure(let error):
                Console.output("\(image)\n  error: \(error)")
                status = 2
            case .success(let resolved):
                var lines = ["\(image)", "  reference: \(resolved.reference)", "  digest:    \(resolved.digest)\(resolved.isIndex ? " (index)" : "")"]
                let width = max(8, (resolved.variants.map { $0.platform?.description ?? "-" } + resolved.unevaluatedPlatforms.map(\.description)).map(\.count).max() ?? 0) + 2
                lines.append("  " + Images.pad("PLATFORM", width) + Images.pad("USER", 14) + "WITH runAsNonRoot: true")
                for variant in resolved.variants {
                    let verdict = Images.verdict(variant)
                    if !verdict.runs, status == 0 { status = 1 }
                    let user = variant.user.map { goQuote($0) } ?? "(none)"
                    lines.append("  " + Images.pad(variant.platform?.description ?? "-", width) + Images.pad(user, 14) + verdict.text)
                }
                // Never skipped silently: platforms past the per-image bound are listed, and cannot be told.
                for platform in resolved.unevaluatedPlatforms {
                    status = 2
                    lines.append("  " + Images.pad(platform.description, width) + Images.pad("?", 14) + "not evaluated: more than \(resolved.indexEntryLimit) platforms per image")
                }
                Console.output(lines.joined(separator: "\n"))
            }
        }
        await registryLookup.shutdown()
        if status != 0 { throw ExitCode(status) }
    }

    /// The kubelet's answer for this platform, in its words.
    static func verdict(_ variant: ResolvedVariant) -> (runs: Bool, text: String) {
        let user = ImageUser(configUser: variant.user ?? "")
        if variant.platform?.os == "windows" {
            if case .name(let name) = user, name.lowercased() == "containeradministrator" {
                return (false, "refused: runs as ContainerAdministrator")
            }
            return (true, "runs")
        }
        let (uid, username) = KubeletImageUser.getImageUser(user)
        if let message = KubeletImageUser.verifyLinuxImage(uid: uid, username: username, suffix: "") {
            let text = message.hasPrefix("container has runAsNonRoot and ") ? String(message.dropFirst("container has runAsNonRoot and ".count)) : message
            return (false, "refused: " + text.trimmingCharacters(in: " "))
        }
        return (true, uid.map { "runs as uid \($0)" } ?? "runs")
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}
