import ImageConfig
import Testing
import ImageResolution
import NonRootPolicy
@testable import ImageRegistry

private func digest(_ n: Int) -> String { "sha256:" + String(repeating: String(n % 10), count: 64) }

private func entry(_ n: Int, _ platform: String?) -> Descriptor {
    Descriptor(mediaType: MediaType.ociManifest, digest: digest(n), size: 401, platform: platform.map { text in
        let parts = text.split(separator: "/").map(String.init)
        return Platform(os: parts[0], architecture: parts[1], variant: parts.count > 2 ? parts[2] : nil)
    })
}

/// A multi-arch index as buildx pushes it: images, attestations, and an entry without a platform.
private let index: [Descriptor] = [
    entry(1, "linux/amd64"),
    entry(2, "linux/arm64/v8"),
    entry(3, "linux/arm/v7"),
    entry(4, "windows/amd64"),
    entry(5, "unknown/unknown"),
    entry(6, "unknown/unknown"),
    entry(7, nil),
    entry(8, "darwin/arm64"),
    entry(9, "linux/s390x"),
]

/// Runs `body` with a registry lookup for `platforms`, then shuts it down.
private func withResolver(
    platforms: [String] = [], allowlist: Set<String>? = nil, _ body: (RegistryLookup) async throws -> Void
) async throws {
    var configuration = RegistryConfiguration()
    configuration.platforms = try platforms.map { try #require(Platform(parsing: $0)) }
    configuration.allowlist = allowlist
    let resolver = try RegistryLookup(configuration: configuration)
    do {
        try await body(resolver)
    } catch {
        await resolver.shutdown()
        throw error
    }
    await resolver.shutdown()
}

@Suite("RegistryLookup.select")
struct SelectTests {
    @Test("without --platform, every linux and windows entry in index order; attestations and others dropped")
    func allLinuxAndWindows() async throws {
        try await withResolver { resolver in
            #expect(resolver.select(index).map(\.digest) == [digest(1), digest(2), digest(3), digest(4), digest(9)])
        }
    }

    @Test("--platform narrows the selection", arguments: [
        (["linux/amd64"], [1]),
        (["linux/arm64"], [2]),
        (["linux/arm64/v8"], [2]),
        (["linux/arm64/v9"], []),
        (["linux/arm/v7", "linux/amd64"], [1, 3]),
        (["windows/amd64"], [4]),
        (["linux/ppc64le"], []),
        (["unknown/unknown"], []),
        (["darwin/arm64"], []),
    ])
    func narrowed(platforms: [String], expected: [Int]) async throws {
        try await withResolver(platforms: platforms) { resolver in
            #expect(resolver.select(index).map(\.digest) == expected.map(digest))
        }
    }

    /// Entries written with aliases (as some older pushers do) are the platforms containerd would pull.
    @Test("entries and --platform are compared after normalisation", arguments: [
        ([], [11, 12, 13, 14]),
        (["linux/arm64/v8"], [12]),
        (["linux/amd64"], [11]),
        (["linux/arm/v7"], [13]),
        (["windows/amd64"], [14]),
    ])
    func aliases(platforms: [String], expected: [Int]) async throws {
        let aliased = [entry(11, "Linux/x86_64"), entry(12, "linux/aarch64"), entry(13, "linux/armhf"), entry(14, "Windows/AMD64"), entry(15, "unknown/unknown")]
        try await withResolver(platforms: platforms) { resolver in
            #expect(resolver.select(aliased).map(\.digest) == expected.map(digest))
        }
    }

    @Test("an empty index selects nothing")
    func emptyIndex() async throws {
        try await withResolver { resolver in
            #expect(resolver.select([]) == [])
        }
    }
}

@Suite("ResolvedImage.lookup")
struct ResolvedImageLookupTests {
    private static func image(isIndex: Bool, _ variants: [(String?, String?)]) throws -> ResolvedImage {
        ResolvedImage(
            reference: try ImageReference(parsing: "127.0.0.1:5100/oci/users:multiarch"),
            digest: digest(0),
            variants: variants.enumerated().map { position, variant in
                ResolvedVariant(platform: variant.0.flatMap(Platform.init(parsing:)), user: variant.1, manifestDigest: digest(position + 1), configDigest: digest(position + 5))
            },
            isIndex: isIndex)
    }

    @Test("a single image manifest gives one variant without a platform")
    func singleManifest() throws {
        let resolved = try Self.image(isIndex: false, [("linux/amd64", "1000:1000")])
        #expect(resolved.lookup == .found([ImageUserVariant(user: .uid(1000), platform: nil)]))
    }

    @Test("an index names each variant's platform, in order")
    func index() throws {
        let resolved = try Self.image(isIndex: true, [("linux/amd64", "1000"), ("linux/arm64/v8", "0"), ("windows/amd64", "ContainerUser")])
        #expect(resolved.lookup == .found([
            ImageUserVariant(user: .uid(1000), platform: "linux/amd64"),
            ImageUserVariant(user: .uid(0), platform: "linux/arm64/v8"),
            ImageUserVariant(user: .name("ContainerUser"), platform: "windows/amd64"),
        ]))
    }

    @Test("config.User maps to ImageUser as the runtime reads it", arguments: [
        (nil as String?, ImageUser.unset),
        ("", .unset),
        ("0", .uid(0)),
        ("root", .name("root")),
        ("1000", .uid(1000)),
        ("1000:1000", .uid(1000)),
        ("app", .name("app")),
        ("app:app", .name("app")),
        ("0:0", .uid(0)),
        ("65532", .uid(65532)),
        (":1000", .unset),
    ])
    func users(user: String?, expected: ImageUser) throws {
        #expect(try Self.image(isIndex: false, [("linux/amd64", user)]).lookup == .found([ImageUserVariant(user: expected)]))
    }

    @Test("an index variant without a platform stays unnamed")
    func indexVariantWithoutPlatform() throws {
        #expect(try Self.image(isIndex: true, [(nil, "1000")]).lookup == .found([ImageUserVariant(user: .uid(1000), platform: nil)]))
    }

    @Test("isIndex is what the lookup recorded")
    func isIndex() throws {
        #expect(try Self.image(isIndex: true, [("linux/amd64", "1")]).isIndex)
        #expect(!(try Self.image(isIndex: false, [("linux/amd64", "1")]).isIndex))
    }
}

@Suite("RegistryConfiguration")
struct RegistryConfigurationTests {
    @Test("defaults")
    func defaults() {
        let configuration = RegistryConfiguration()
        #expect(configuration.platforms == [])
        #expect(configuration.allowlist == nil)
        #expect(configuration.timeout == .seconds(3))
        #expect(configuration.cacheSize == 2048)
        #expect(configuration.tagTTL == .seconds(300))
        #expect(configuration.failureTTL == .seconds(30))
        #expect(configuration.maximumRedirects == 3)
        #expect(configuration.allowPrivateAddresses == false)
        #expect(configuration.userAgent == "nonroot-admission")
    }

    @Test("Docker Hub's API host is registry-1.docker.io", arguments: [
        ("docker.io", "registry-1.docker.io"), ("index.docker.io", "registry-1.docker.io"), ("ghcr.io", "ghcr.io"), ("127.0.0.1:5100", "127.0.0.1:5100"),
    ])
    func apiHost(registry: String, host: String) {
        #expect(RegistryConfiguration.apiHost(for: registry) == host)
    }

    @Test("the allowlist treats Docker Hub aliases as one registry")
    func allowlist() {
        var configuration = RegistryConfiguration()
        #expect(configuration.isAllowed("anything.example"))
        configuration.allowlist = ["index.docker.io", "ghcr.io"]
        #expect(configuration.isAllowed("docker.io"))
        #expect(configuration.isAllowed("registry-1.docker.io"))
        #expect(configuration.isAllowed("ghcr.io"))
        #expect(!configuration.isAllowed("quay.io"))
        #expect(!configuration.isAllowed("ghcr.io:443"))
        configuration.allowlist = []
        #expect(!configuration.isAllowed("docker.io"))
    }
}

@Suite("RegistryLookup without the network")
struct RegistryLookupOfflineTests {
    @Test("an invalid reference is unresolved with the parser's message")
    func invalidReference() async throws {
        try await withResolver { resolver in
            let lookup = await resolver.lookup("Nginx", deadline: .now + .seconds(5))
            #expect(lookup == .unresolved(reason: #"invalid image reference "Nginx": repository name must be lowercase"#))
            let result = await resolver.resolve("nginx:1.27 ", deadline: .now + .seconds(5))
            #expect(result == .failure(.invalidReference(#"invalid image reference "nginx:1.27 ": reference must not contain whitespace"#)))
        }
    }

    @Test("a registry outside the allowlist is refused before any request")
    func notAllowed() async throws {
        try await withResolver(allowlist: ["ghcr.io"]) { resolver in
            let lookup = await resolver.lookup("quay.io/acme/api:1.0", deadline: .now + .seconds(5))
            #expect(lookup == .unresolved(reason: "registry quay.io is not in --registry-allowlist"))
            #expect(await resolver.resolve("nginx", deadline: .now + .seconds(5)) == .failure(.notAllowed(registry: "docker.io")))
        }
    }
}

private let catalogYAML = """
    images:
      nginx:1.27: ""
      mcr.microsoft.com/dotnet/samples:aspnetapp: app
      ghcr.io/acme/api:v1: "64198"
      ghcr.io/acme/multi:1.0:
        linux/amd64: "1000"
        linux/arm64/v8: "0"
        windows/amd64: ContainerUser
        linux/arm/v7: ~
    """

@Suite("ImageCatalog per platform, and ImageLookup offline")
struct CatalogAndImageLookupTests {
    private static let multi: ImageUserLookup = .found([
        ImageUserVariant(user: .uid(1000), platform: "linux/amd64"),
        ImageUserVariant(user: .uid(0), platform: "linux/arm64/v8"),
        ImageUserVariant(user: .name("ContainerUser"), platform: "windows/amd64"),
        ImageUserVariant(user: .unset, platform: "linux/arm/v7"),
    ])

    @Test("a mapping of platforms gives one variant per platform, in file order")
    func perPlatform() throws {
        let catalog = try ImageCatalog.parse(catalogYAML)
        #expect(catalog.count == 4)
        #expect(catalog.lookup("ghcr.io/acme/multi:1.0") == Self.multi)
        #expect(catalog.lookup("nginx:1.27") == .found([ImageUserVariant(user: .unset)]))
        #expect(catalog.lookup("docker.io/library/nginx:1.27") == .found([ImageUserVariant(user: .unset)]))
        #expect(catalog.lookup("mcr.microsoft.com/dotnet/samples:aspnetapp") == .found(.name("app")))
        #expect(catalog.lookup("ghcr.io/acme/api:v1") == .found(.uid(64198)))
    }

    @Test("a pod image matches a catalog key byte for byte, as the runtime compares references")
    func byteForByte() throws {
        let catalog = try ImageCatalog(entries: [(reference: "ghcr.io/acme/api:K1", user: "0")])
        #expect(catalog.lookup("ghcr.io/acme/api:K1") == .found(.uid(0)))
        // KELVIN SIGN is canonically equivalent to "K", so Swift's String == finds them equal; the runtime does not.
        #expect(catalog.lookup("ghcr.io/acme/api:\u{212A}1") == .unresolved(reason: "invalid tag"))
    }

    @Test("a platform key without os/arch is an error with its line", arguments: [
        ("images:\n  ghcr.io/acme/multi:1.0:\n    linux: \"1000\"\n", 3),
        ("images:\n  ghcr.io/acme/multi:1.0:\n    linux/amd64: \"1000\"\n    amd64: \"0\"\n", 4),
        ("images:\n  ghcr.io/acme/multi:1.0:\n    linux/amd64: [\"1000\"]\n", 3),
    ])
    func badPlatformKey(text: String, line: Int) {
        do {
            _ = try ImageCatalog.parse(text, source: "images.yaml")
            Issue.record("expected an error")
        } catch {
            #expect(error.description == #"images.yaml:\#(line): the USERs of "ghcr.io/acme/multi:1.0" must map os/arch[/variant] to strings"#)
        }
    }

    @Test("platform keys beyond os/arch/variant, or with empty parts, are errors", arguments: [
        "linux/amd64/v1/extra", "/", "linux/", "//",
    ])
    func malformedPlatformKey(key: String) {
        #expect(throws: ImageCatalogError.self) {
            try ImageCatalog.parse("images:\n  ghcr.io/acme/multi:1.0:\n    \"\(key)\": \"1000\"\n")
        }
    }

    @Test("YAML syntax errors, duplicate images and a second document are errors with their line", arguments: [
        ("images:\n  nginx:1.27: [\"101\"\n", #"images.yaml:3: not valid YAML or JSON: did not find expected ',' or ']' (while parsing a flow sequence at line 2, column 15)"#),
        ("images:\n  nginx:1.27: \"101\"\n  nginx:1.27: \"0\"\n", #"images.yaml:2: not valid YAML or JSON: duplicate key "nginx:1.27" in a mapping"#),
        ("images: {}\n---\nimages: {}\n", #"images.yaml:2: not valid YAML or JSON: but found another document (expected a single document in the stream at line 1, column 1)"#),
    ])
    func unreadableCatalogText(text: String, message: String) {
        do {
            _ = try ImageCatalog.parse(text, source: "images.yaml")
            Issue.record("expected an error")
        } catch {
            #expect(error.description == message)
        }
    }

    @Test("an empty platform mapping is not a USER")
    func emptyPlatformMapping() {
        do {
            _ = try ImageCatalog.parse("images:\n  ghcr.io/acme/multi:1.0: {}\n")
            Issue.record("expected an error")
        } catch {
            #expect(error.description == #"image catalog:2: the USER of "ghcr.io/acme/multi:1.0" must be a string, or a mapping of platforms to strings"#)
        }
    }

    @Test("without a registry, knownOffline answers every image from the catalog")
    func knownOfflineWithoutRegistry() throws {
        let resolver = ImageLookup(catalog: try ImageCatalog.parse(catalogYAML), registry: nil)
        let answers = resolver.knownOffline(["nginx:1.27", "ghcr.io/acme/multi:1.0", "quay.io/acme/unknown:1", "Nginx", "nginx:1.27"])
        #expect(answers == [
            "nginx:1.27": .found([ImageUserVariant(user: .unset)]),
            "ghcr.io/acme/multi:1.0": Self.multi,
            "quay.io/acme/unknown:1": .unresolved(reason: "not in the image catalog"),
            "Nginx": .unresolved(reason: "repository name must be lowercase"),
        ])
        #expect(resolver.knownOffline([]) == [:])
    }

    @Test("with a registry, knownOffline answers only when no image needs it")
    func knownOfflineWithRegistry() async throws {
        let catalog = try ImageCatalog.parse(catalogYAML)
        try await withResolver { registry in
            let resolver = ImageLookup(catalog: catalog, registry: registry)
            #expect(resolver.knownOffline(["nginx:1.27", "ghcr.io/acme/multi:1.0"]) == [
                "nginx:1.27": .found([ImageUserVariant(user: .unset)]),
                "ghcr.io/acme/multi:1.0": Self.multi,
            ])
            #expect(resolver.knownOffline(["nginx:1.27", "quay.io/acme/unknown:1"]) == nil)
        }
    }

    @Test("lookUp sends only catalog misses to the registry")
    func lookUpMixesCatalogAndRegistry() async throws {
        let catalog = try ImageCatalog.parse(catalogYAML)
        try await withResolver(allowlist: ["ghcr.io"]) { registry in
            let resolver = ImageLookup(catalog: catalog, registry: registry)
            let answers = await resolver.lookUp(["nginx:1.27", "quay.io/acme/unknown:1", "Nginx"], deadline: .now + .seconds(5))
            #expect(answers == [
                "nginx:1.27": .found([ImageUserVariant(user: .unset)]),
                "quay.io/acme/unknown:1": .unresolved(reason: "registry quay.io is not in --registry-allowlist"),
                "Nginx": .unresolved(reason: #"invalid image reference "Nginx": repository name must be lowercase"#),
            ])
        }
    }

    @Test("lookUp without a registry is the catalog's answer")
    func lookUpWithoutRegistry() async throws {
        let resolver = ImageLookup(catalog: try ImageCatalog.parse(catalogYAML))
        let answers = await resolver.lookUp(["ghcr.io/acme/api:v1", "quay.io/acme/unknown:1"], deadline: .now + .seconds(5))
        #expect(answers == [
            "ghcr.io/acme/api:v1": .found(.uid(64198)),
            "quay.io/acme/unknown:1": .unresolved(reason: "not in the image catalog"),
        ])
    }
}
