/// How the registry client connects, authenticates and caches.
public struct RegistryConfiguration: Sendable {
    /// `host[:port]` registries reached over plain HTTP (`--registry-allow-insecure`).
    public var insecureRegistries: Set<String> = []
    /// Loopback, private and link-local addresses that may be reached anyway (`--registry-allow-private`).
    public var privateAccess = PrivateAccess.none
    /// Whether every internal address may be reached (a bare `--registry-allow-private`).
    public var allowPrivateAddresses: Bool {
        get { privateAccess.all }
        set { privateAccess = newValue ? .everything : .none }
    }
    /// When set, only these registries are looked up (`--registry-allowlist`).
    public var allowlist: Set<String>?
    /// A PEM file of extra CA certificates, trusted in addition to the system roots.
    public var caFile: String?
    /// The node's credentials (`--registry-auth-file`), matched as the kubelet's keyring does.
    public var credentials = DockerKeyring()
    /// Kubelet image credential provider plugins (`--image-credential-provider-config` and `-bin-dir`).
    public var credentialProviders: CredentialProviderConfiguration?
    /// The node platforms to evaluate (`--platform`); empty means every linux and windows platform listed.
    public var platforms: [Platform] = []
    /// The longest a lookup may take, whatever the apiserver's timeout (`--registry-timeout`).
    public var timeout = RegistryConfiguration.defaultTimeout
    /// Manifests resolved by digest kept in memory (least recently used go first).
    public var cacheSize = RegistryConfiguration.defaultCacheSize
    /// How long a tag's digest is trusted before a HEAD request checks it again.
    public var tagTTL = RegistryConfiguration.defaultTagTTL
    /// How long a failed lookup is remembered, so a broken registry is not hammered.
    public var failureTTL = RegistryConfiguration.defaultFailureTTL
    /// Real manifests and indexes are a few KiB (a 100-layer manifest is about 25 KiB; an index of
    /// 20 platforms plus attestations about 10 KiB). Registries accept up to 4 MiB, but 1 MiB already
    /// lists thousands of entries, and each byte costs up to 10 while it is parsed.
    public var maximumManifestBytes = 1 << 20
    /// Image configs are usually under 50 KiB, even with long histories; 1 MiB leaves 20x room.
    public var maximumConfigBytes = 1 << 20
    public var maximumTokenBytes = 1 << 20
    /// Platforms of one index evaluated (after keeping linux and windows, or `--platform`).
    public var maximumIndexEntries = RegistryConfiguration.defaultMaximumIndexEntries
    /// Registry requests in flight across all lookups (`--registry-max-concurrent-fetches`).
    public var maximumConcurrentFetches = RegistryConfiguration.defaultMaximumConcurrentFetches
    /// Bytes of registry responses held across all lookups, parse tapes included (`--registry-max-bytes-in-flight`).
    public var maximumBytesInFlight = RegistryConfiguration.defaultMaximumBytesInFlight
    public var maximumRedirects = 3
    public var userAgent = "nonroot-admission"

    public init() {}

    /// The longest one lookup may take unless `--registry-timeout` says otherwise: well inside the
    /// apiserver's default webhook timeout of 10 s.
    public static let defaultTimeout: Duration = .seconds(3)
    /// Manifests and configs kept, each (`--registry-cache-size`).
    public static let defaultCacheSize = 2048
    /// `--registry-tag-ttl`.
    public static let defaultTagTTL: Duration = .seconds(300)
    /// `--registry-failure-ttl`.
    public static let defaultFailureTTL: Duration = .seconds(30)

    /// Official multi-arch images list 8 to 14 linux and windows platforms (busybox 10, python and
    /// hello-world 13, with Windows builds); attestations (`unknown/unknown`) are not counted.
    /// 24 fits them all with room, and caps one image at 48 requests (a manifest and a config each).
    public static let defaultMaximumIndexEntries = 24
    /// Enough for a burst of cold lookups (32 images of one review at once, a manifest each), few
    /// enough that one slow registry cannot hold hundreds of connections.
    public static let defaultMaximumConcurrentFetches = 64
    /// 32 MiB: about 60 real documents (≤ 50 KiB, 10x while parsed) at once, or three of the largest
    /// accepted (1 MiB, 10x). Sized to sit beside `--max-buffered-bytes` in the 192 MiB Deployment.
    public static let defaultMaximumBytesInFlight = 32 << 20
    /// A JSON document's node tape is up to 12 bytes per 2 bytes of input, and growing it briefly
    /// holds the old and the new tape: 9 bytes per input byte are charged while a body is parsed,
    /// on top of the body itself.
    static let parseBytesPerByte = 9

    /// The smallest `maximumBytesInFlight` that can read the largest accepted document.
    public var minimumBytesInFlight: Int {
        max(maximumManifestBytes, maximumConfigBytes, maximumTokenBytes) * (1 + RegistryConfiguration.parseBytesPerByte)
    }

    /// The host that serves a registry's API: Docker Hub's `docker.io` is `registry-1.docker.io`.
    static func apiHost(for registry: String) -> String {
        registry == "docker.io" || registry == "index.docker.io" ? "registry-1.docker.io" : registry
    }

    static let dockerHubAliases = ["docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"]

    func isAllowed(_ registry: String) -> Bool {
        guard let allowlist else { return true }
        if allowlist.contains(registry) { return true }
        if RegistryConfiguration.dockerHubAliases.contains(registry) {
            return RegistryConfiguration.dockerHubAliases.contains { allowlist.contains($0) }
        }
        return false
    }
}
