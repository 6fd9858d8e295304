import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

@main
struct NonRootAdmission: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "nonroot-admission",
        abstract: "Predict the kubelet's runAsNonRoot failures at admission time.",
        discussion: """
            A pod with runAsNonRoot: true whose image runs as root, or declares a non-numeric USER, \
            is admitted and then stuck in CreateContainerConfigError. nonroot-admission applies the \
            kubelet's rules to the image's USER before the pod is created.
            """,
        version: version,
        subcommands: [Replay.self, Check.self, Serve.self, Images.self]
    )

    static func main() async {
        let arguments = EnvironmentOptions.apply(to: Array(CommandLine.arguments.dropFirst()), environment: ProcessInfo.processInfo.environment)
        await main(arguments)
    }
}

/// `serve` options from `NONROOT_ADMISSION_*` environment variables, for Kubernetes manifests.
enum EnvironmentOptions {
    static let prefix = "NONROOT_ADMISSION_"

    /// The options of `serve` that take a value.
    static let serveOptions = [
        "tls-cert-file", "tls-key-file", "client-ca-file", "listen", "metrics-listen", "images", "policy", "mode",
        "unresolved", "record-dir", "record-max-files", "record-max-bytes", "max-body-bytes", "max-buffered-bytes", "max-connections",
        "idle-timeout", "request-timeout", "cert-refresh-interval", "shutdown-delay", "shutdown-grace-period",
        "threads", "log-level", "platform", "registry-auth-file", "registry-allow-insecure", "registry-allowlist",
        "registry-ca-file", "registry-timeout", "registry-cache-size", "registry-tag-ttl", "registry-failure-ttl",
        "registry-max-concurrent-fetches", "registry-max-bytes-in-flight",
        "image-credential-provider-config", "image-credential-provider-bin-dir",
        "client-allowed-names", "max-containers-per-review", "max-images-per-review", "node-os",
        "max-pending-handshakes", "max-pending-handshakes-per-source", "handshake-timeout", "first-request-timeout",
        "metrics-max-connections", "metrics-idle-timeout", "metrics-request-timeout",
        "kubernetes-token-file", "kubernetes-ca-file",
    ]

    /// The flags of `serve`, set by a variable of `true` or `1`.
    static let serveFlags = ["registry", "registry-allow-private", "pull-secrets"]
    /// Flags that also take a value: any other non-empty value but `false`/`0` is passed as `--flag=value`.
    static let serveFlagsWithValue: Set = ["registry-allow-private"]

    /// Appends `--option value` for each variable whose option is not on the command line.
    static func apply(to arguments: [String], environment: [String: String]) -> [String] {
        guard arguments.first == "serve" else { return arguments }
        var result = arguments
        for option in serveOptions {
            let flag = "--" + option
            let present = arguments.contains { $0 == flag || $0.hasPrefix(flag + "=") }
            let variable = prefix + String(option.uppercased().map { $0 == "-" ? "_" : $0 })
            if !present, let value = environment[variable], !value.isEmpty {
                result += [flag, value]
            }
        }
        for option in serveFlags {
            let flag = "--" + option
            let variable = prefix + String(option.uppercased().map { $0 == "-" ? "_" : $0 })
            guard !arguments.contains(where: { $0 == flag || $0.hasPrefix(flag + "=") }), let value = environment[variable] else { continue }
            if ["true", "1"].contains(value.lowercased()) {
                result.append(flag)
            } else if serveFlagsWithValue.contains(option), !value.isEmpty, !["false", "0"].contains(value.lowercased()) {
                result.append(flag + "=" + value)
            }
        }
        return result
    }
}
