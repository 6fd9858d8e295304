/// How the registry client connects, authenticates and caches.
public struct RegistryConfiguration: Sendable {
    /// `host[:port]` registries reached over plain HTTP (`--registry-allow-insecure`).
    public var insecureRegistries: Set<String> = []
    /// Connect to loopback, private and link-local addresses too (`--registry-allow-private`).
    public var allowPrivateAddresses = false
    /// When set, only these registries are looked up (`--registry-allowlist`).
    public var allowlist: Set<String>?
    /// A PEM file of extra CA certificates, trusted in addition to the system roots.
    public var caFile: String?
    /// Credentials by registry (`--registry-auth-file`).
    public var credentials = RegistryCredentials()
    /// The node platforms to evaluate (`--platform`); empty means every linux and windows platform listed.
    public var platforms: [Platform] = []
    /// The longest a lookup may take, whatever the apiserver's timeout (`--registry-timeout`).
    public var timeout: Duration = .seconds(3)
    /// Manifests resolved by digest kept in memory (least recently used go first).
    public var cacheSize = 2048
    /// How long a tag's digest is trusted before a HEAD request checks it again.
    public var tagTTL: Duration = .seconds(300)
    /// How long a failed lookup is remembered, so a broken registry is not hammered.
    public var failureTTL: Duration = .seconds(30)
    public var maximumManifestBytes = 4 << 20
    public var maximumConfigBytes = 8 << 20
    public var maximumTokenBytes = 1 << 20
    public var maximumRedirects = 3
    public var userAgent = "nonroot-admission"

    public init() {}

    /// The host that serves a registry's API: Docker Hub's `docker.io` is `registry-1.docker.io`.
    static func apiHost(for registry: String) -> String {
        registry == "docker.io" || registry == "index.docker.io" ? "registry-1.docker.io" : registry
    }

    func isAllowed(_ registry: String) -> Bool {
        guard let allowlist else { return true }
        if allowlist.contains(registry) { return true }
        if RegistryCredentials.dockerHubAliases.contains(registry) {
            return RegistryCredentials.dockerHubAliases.contains { allowlist.contains($0) }
        }
        return false
    }
}
