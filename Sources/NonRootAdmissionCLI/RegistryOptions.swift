import ArgumentParser
import ImageRegistry

/// Options for registry lookups, shared by `serve`, `replay`, `check` and `images`.
struct RegistryOptions: ParsableArguments {
    @Flag(name: .long, help: "Look up the USER of images that are not in the catalog in their registries.")
    var registry = false

    @Option(name: .long, help: ArgumentHelp("Node platform to evaluate, os/arch[/variant]; repeatable or comma-separated. Default: every linux (and windows) platform an index lists.", valueName: "platform"))
    var platform: [String] = []

    @Option(name: .long, help: ArgumentHelp("The node's registry credentials: a docker config.json (or .dockercfg), matched to images as the kubelet's keyring does; every matching credential is tried in turn.", valueName: "file"))
    var registryAuthFile: String?

    @Option(name: .long, help: ArgumentHelp("The kubelet's CredentialProviderConfig (kubelet.config.k8s.io/v1): a file, or a directory of *.json, *.yaml and *.yml files read in order. Each matching plugin runs with a CredentialProviderRequest on stdin; one that fails adds no credentials, as in the kubelet.", valueName: "path"))
    var imageCredentialProviderConfig: String?

    @Option(name: .long, help: ArgumentHelp("The directory of the credential provider plugins named in --image-credential-provider-config.", valueName: "dir"))
    var imageCredentialProviderBinDir: String?

    @Option(name: .long, help: ArgumentHelp("Allow plain HTTP to this registry; repeatable or comma-separated. Without a port, only port 80. Credentials are still never sent over HTTP.", valueName: "host[:port]"))
    var registryAllowInsecure: [String] = []

    /// Bare: every internal address. With `=LIST`: those ranges and hosts only.
    @Option(name: .long, defaultAsFlag: RegistryOptions.everyPrivateAddress, parsing: .next, help: ArgumentHelp(
        "Allow connections to loopback, private and link-local addresses (in-cluster registries): all of them when bare, or only these CIDRs and registry host names, comma-separated (--registry-allow-private=10.0.0.0/8,registry.internal).",
        valueName: "cidr|host"))
    var registryAllowPrivate: String?

    @Option(name: .long, help: ArgumentHelp("Look up only images from these registries; repeatable or comma-separated.", valueName: "host[:port]"))
    var registryAllowlist: [String] = []

    @Option(name: .long, help: ArgumentHelp("Extra CA certificates (PEM) trusted for registries, in addition to the system roots.", valueName: "file"))
    var registryCaFile: String?

    @Option(name: .long, help: ArgumentHelp("Longest time for one lookup; the apiserver's own timeout can make it shorter.", valueName: "duration"))
    var registryTimeout: DurationArgument = .init(RegistryConfiguration.defaultTimeout)

    @Option(name: .long, help: "Image manifests and configs kept in memory, each (least recently used go first).")
    var registryCacheSize = RegistryConfiguration.defaultCacheSize

    @Option(name: .long, help: ArgumentHelp("How long a tag's digest is trusted before a HEAD request checks it.", valueName: "duration"))
    var registryTagTtl: DurationArgument = .init(RegistryConfiguration.defaultTagTTL)

    @Option(name: .long, help: ArgumentHelp("How long a failed lookup is remembered before it is tried again.", valueName: "duration"))
    var registryFailureTtl: DurationArgument = .init(RegistryConfiguration.defaultFailureTTL)

    @Option(name: .long, help: ArgumentHelp("Registry requests in flight at once, across all lookups; a lookup waits for a free one until its deadline, then is unresolved.", valueName: "count"))
    var registryMaxConcurrentFetches = RegistryConfiguration.defaultMaximumConcurrentFetches

    @Option(name: .long, help: ArgumentHelp("Bytes of registry responses held at once, across all lookups, each counted 10 times while it is parsed (JSON nodes); a lookup waits for room until its deadline, then is unresolved. At least 10 MiB.", valueName: "bytes"))
    var registryMaxBytesInFlight = RegistryConfiguration.defaultMaximumBytesInFlight

    /// The value of a bare `--registry-allow-private`.
    static let everyPrivateAddress = "*"

    func validate() throws {
        for text in Self.split(platform) where Platform(parsing: text) == nil {
            throw ValidationError("--platform must be os/arch[/variant], got \(text)")
        }
        guard registryCacheSize > 0 else { throw ValidationError("--registry-cache-size must be positive") }
        guard registryTimeout.duration > .zero else { throw ValidationError("--registry-timeout must be positive") }
        guard registryMaxConcurrentFetches > 0 else { throw ValidationError("--registry-max-concurrent-fetches must be positive") }
        let minimum = RegistryConfiguration().minimumBytesInFlight
        guard registryMaxBytesInFlight >= minimum else {
            throw ValidationError("--registry-max-bytes-in-flight must be at least \(minimum) (the largest registry document, 1 MiB, while it is parsed)")
        }
        _ = try privateAccess()
        if (imageCredentialProviderConfig == nil) != (imageCredentialProviderBinDir == nil) {
            throw ValidationError("--image-credential-provider-config and --image-credential-provider-bin-dir go together")
        }
    }

    /// `--registry-allow-private`: none, all (bare), or the listed ranges and hosts.
    func privateAccess() throws -> PrivateAccess {
        guard let registryAllowPrivate else { return .none }
        if registryAllowPrivate == Self.everyPrivateAddress { return .everything }
        let entries = Self.split([registryAllowPrivate])
        // A bare flag written before a file (`--registry-allow-private pod.yaml`) takes the file as
        // its value: say so rather than drop the file.
        if let file = entries.first(where: { entry in [".yaml", ".yml", ".json"].contains { entry.lowercased().hasSuffix($0) } }) {
            throw ValidationError("--registry-allow-private took \(file), a file name, as its list; write --registry-allow-private=LIST, or put the bare flag after the files")
        }
        guard !entries.isEmpty else { throw ValidationError("--registry-allow-private= needs CIDRs or host names") }
        do {
            return try PrivateAccess(parsing: entries)
        } catch {
            throw ValidationError(error.reason)
        }
    }

    /// The registry configuration, or nil when lookups are off. Bad files exit with status 2.
    func configuration(enabled: Bool? = nil) throws -> RegistryConfiguration? {
        guard enabled ?? registry else { return nil }
        var configuration = RegistryConfiguration()
        configuration.platforms = Self.split(platform).compactMap(Platform.init(parsing:))
        configuration.insecureRegistries = Set(Self.split(registryAllowInsecure).map { $0.lowercased() })
        configuration.privateAccess = try privateAccess()
        configuration.maximumConcurrentFetches = registryMaxConcurrentFetches
        configuration.maximumBytesInFlight = registryMaxBytesInFlight
        let allowlist = Self.split(registryAllowlist).map { $0.lowercased() }
        configuration.allowlist = allowlist.isEmpty ? nil : Set(allowlist)
        configuration.caFile = registryCaFile
        configuration.timeout = registryTimeout.duration
        configuration.cacheSize = registryCacheSize
        configuration.tagTTL = registryTagTtl.duration
        configuration.failureTTL = registryFailureTtl.duration
        configuration.userAgent = "nonroot-admission/\(NonRootAdmission.version)"
        if let registryAuthFile {
            do {
                configuration.credentials = try DockerKeyring.load(path: registryAuthFile)
            } catch {
                Console.error("error: \(error)")
                throw ExitCode(2)
            }
        }
        if let imageCredentialProviderConfig, let imageCredentialProviderBinDir {
            do {
                configuration.credentialProviders = try CredentialProviderConfiguration.load(configPath: imageCredentialProviderConfig, binDir: imageCredentialProviderBinDir)
            } catch {
                Console.error("error: \(error)")
                throw ExitCode(2)
            }
        }
        return configuration
    }

    /// A registry lookup for `configuration`; a bad CA file exits with status 2.
    static func registryLookup(_ configuration: RegistryConfiguration?) throws -> RegistryLookup? {
        guard let configuration else { return nil }
        do {
            return try RegistryLookup(configuration: configuration)
        } catch {
            Console.error("error: \(error)")
            throw ExitCode(2)
        }
    }

    static func split(_ values: [String]) -> [String] {
        values.flatMap { $0.split(separator: ",").map { String($0).trimmingCharacters(in: " ") } }.filter { !$0.isEmpty }
    }
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        String(drop { $0 == set }.reversed().drop { $0 == set }.reversed())
    }
}
