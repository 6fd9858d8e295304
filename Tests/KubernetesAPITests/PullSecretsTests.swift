import Foundation
@testable import KubernetesAPI
import Testing
import TestSupport

/// Which Secrets give credentials, and from where, as the kubelet and the ServiceAccount admission plugin decide.
@Suite("pull secrets")
struct PullSecretsTests {
    static let json = Array(APIObjects.dockerConfigJSON.utf8)
    static let cfg = Array(APIObjects.dockercfg.utf8)

    @Test(arguments: [
        ("kubernetes.io/dockerconfigjson", ".dockerconfigjson", true),
        ("kubernetes.io/dockercfg", ".dockercfg", true),
        ("kubernetes.io/dockerconfigjson", ".dockercfg", false),
        ("kubernetes.io/dockercfg", ".dockerconfigjson", false),
        ("Opaque", ".dockerconfigjson", false),
        ("Opaque", ".dockercfg", false),
        ("kubernetes.io/DockerConfigJSON", ".dockerconfigjson", false),
    ])
    func aSecretCountsOnlyWithItsTypesKey(type: String, key: String, counts: Bool) {
        let secret = Secret(namespace: "team-a", name: "s", type: type, data: [key: Self.json])
        let found = PullSecrets.dockerConfig(of: secret)
        #expect((found != nil) == counts)
        if let found {
            #expect(found.format.rawValue == type)
            #expect(found.config == Self.json)
        }
        // Empty data never counts.
        #expect(PullSecrets.dockerConfig(of: Secret(namespace: "team-a", name: "s", type: type, data: [key: []])) == nil)
    }

    @Test func aTemplateThatNamesNoneUsesItsServiceAccount() async throws {
        let server = try FakeAPIServer(routes: APIObjects.routes)
        let client = try KubernetesClient(configuration: server.configuration())
        let lookup = await PullSecrets(reader: client).forTemplate(namespace: "team-a", imagePullSecrets: [], serviceAccountName: "builder")
        await client.shutdown()
        #expect(lookup.serviceAccount == "builder")
        #expect(lookup.serviceAccountError == nil)
        #expect(lookup.secrets == [
            PullSecret(name: "regcred", format: .dockerConfigJSON, config: Self.json),
            PullSecret(name: "legacy", format: .dockercfg, config: Self.cfg),
        ])
        #expect(lookup.skipped.map(\.description) == [
            #"pull secret "missing": not found: secrets "missing" not found"#,
            #"pull secret "locked": forbidden: "# + APIObjects.lockedMessage,
            #"pull secret "opaque" is ignored: type "Opaque" with no non-empty .dockerconfigjson or .dockercfg for its type"#,
        ])
        #expect(lookup.secrets.map(\.description) == ["regcred (kubernetes.io/dockerconfigjson, 106 bytes)", "legacy (kubernetes.io/dockercfg, 77 bytes)"])
        #expect(Set(try server.requests().map(\.path)) == Set([APIObjects.serviceAccountPath("builder")] + ["regcred", "missing", "locked", "opaque", "legacy"].map { APIObjects.secretPath($0) }))
    }

    @Test func theServiceAccountDefaultsToDefault() async throws {
        let server = try FakeAPIServer(routes: APIObjects.routes)
        let client = try KubernetesClient(configuration: server.configuration())
        let unnamed = await PullSecrets(reader: client).forTemplate(namespace: "team-a", imagePullSecrets: [], serviceAccountName: nil)
        let empty = await PullSecrets(reader: client).forTemplate(namespace: "team-a", imagePullSecrets: [], serviceAccountName: "")
        await client.shutdown()
        for lookup in [unnamed, empty] {
            #expect(lookup.serviceAccount == "default")
            #expect(lookup.secrets == [PullSecret(name: "legacy", format: .dockercfg, config: Self.cfg)])
        }
    }

    @Test func aMissingServiceAccountGivesNoSecretsAndSaysWhy() async throws {
        let server = try FakeAPIServer(routes: APIObjects.routes)
        let client = try KubernetesClient(configuration: server.configuration())
        let lookup = await PullSecrets(reader: client).forTemplate(namespace: "team-a", imagePullSecrets: [], serviceAccountName: "ghost")
        await client.shutdown()
        #expect(lookup == PullSecretLookup(serviceAccount: "ghost", serviceAccountError: .notFound(#"serviceaccounts "ghost" not found"#)))
    }

    /// All or nothing, as the plugin: a template naming any secret, even only an empty name, does
    /// not get the ServiceAccount's; empty names are then skipped as the kubelet skips them.
    @Test func aTemplateNamingAnyDoesNotUseTheServiceAccount() async throws {
        let server = try FakeAPIServer(routes: APIObjects.routes)
        let client = try KubernetesClient(configuration: server.configuration())
        let named = await PullSecrets(reader: client).forTemplate(namespace: "team-a", imagePullSecrets: ["", "legacy", "", "regcred"], serviceAccountName: "builder")
        let onlyEmpty = await PullSecrets(reader: client).forTemplate(namespace: "team-a", imagePullSecrets: [""], serviceAccountName: "builder")
        await client.shutdown()
        #expect(named == PullSecretLookup(secrets: [
            PullSecret(name: "legacy", format: .dockercfg, config: Self.cfg),
            PullSecret(name: "regcred", format: .dockerConfigJSON, config: Self.json),
        ]))
        #expect(onlyEmpty == PullSecretLookup())
        #expect(!(try server.requests().map(\.path).contains(APIObjects.serviceAccountPath("builder"))))
    }

    /// A Pod already carries the ServiceAccount's secrets (the admission plugin copied them), so the
    /// ServiceAccount is never read for one.
    @Test func aPodUsesItsOwnListOnly() async throws {
        let server = try FakeAPIServer(routes: APIObjects.routes)
        let client = try KubernetesClient(configuration: server.configuration())
        let none = await PullSecrets(reader: client).forPod(namespace: "team-a", imagePullSecrets: [])
        let some = await PullSecrets(reader: client).forPod(namespace: "team-a", imagePullSecrets: ["mismatched", "empty", "regcred", "regcred"])
        await client.shutdown()
        #expect(none == PullSecretLookup())
        // Duplicates are kept, as the kubelet keeps them; the cache makes them one request.
        #expect(some.secrets.map(\.name) == ["regcred", "regcred"])
        #expect(some.skipped.map(\.name) == ["mismatched", "empty"])
        #expect(try server.requests().map(\.path).sorted() == ["empty", "mismatched", "regcred"].map { APIObjects.secretPath($0) })
    }

    @Test func theNumberOfSecretsReadIsBounded() async throws {
        let server = try FakeAPIServer(routes: APIObjects.routes)
        let client = try KubernetesClient(configuration: server.configuration())
        let names = ["regcred", "legacy", "opaque", "locked"]
        let lookup = await PullSecrets(reader: client, maximumSecrets: 2).forPod(namespace: "team-a", imagePullSecrets: names)
        await client.shutdown()
        #expect(lookup.secrets.map(\.name) == ["regcred", "legacy"])
        #expect(lookup.skipped.map(\.description) == [
            #"pull secret "opaque" is not read: more than 2 pull secrets"#, #"pull secret "locked" is not read: more than 2 pull secrets"#,
        ])
        #expect(try server.requests().count == 2)
    }

    @Test func theAnswerCacheIsBoundedInEntries() async {
        let cache = AnswerCache<Int>(lifetime: .seconds(60), capacity: 16, maximumBytes: 1 << 20) { _ in 1 }
        for index in 0..<100 {
            _ = await cache.answer(for: "k\(index)") { .success(index) }
            #expect(cache.count <= 16)
        }
        // The newest stay; the oldest went first.
        #expect(await cache.answer(for: "k99") { .success(-1) } == .success(99))
        #expect(await cache.answer(for: "k0") { .success(-1) } == .success(-1))
    }

    @Test func theAnswerCacheIsBoundedInBytes() async {
        let cache = AnswerCache<[UInt8]>(lifetime: .seconds(60), capacity: 1000, maximumBytes: 1000) { $0.count }
        for index in 0..<10 {
            _ = await cache.answer(for: "k\(index)") { .success([UInt8](repeating: 0, count: 300)) }
            #expect(cache.bytes <= 1000)
        }
        #expect(cache.count == 3)
        #expect(cache.bytes == 900)
        // Larger than the whole cache: answered, not kept.
        _ = await cache.answer(for: "huge") { .success([UInt8](repeating: 0, count: 1001)) }
        #expect(cache.count == 3)
        // Errors that stay true are kept (at 256 bytes); transport errors are not.
        _ = await cache.answer(for: "gone") { .failure(.notFound("x")) }
        _ = await cache.answer(for: "down") { .failure(.transport("connection refused")) }
        #expect(cache.count == 3)
        #expect(cache.bytes == 856)
        #expect(await cache.answer(for: "gone") { .success([]) } == .failure(.notFound("x")))
        #expect(await cache.answer(for: "down") { .success([1]) } == .success([1]))
    }
}

@Suite("in-cluster configuration")
struct InClusterConfigurationTests {
    static let environment = ["KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"]

    @Test func readsTheServiceAddress() throws {
        let scratch = try TemporaryDirectory()
        let token = try scratch.write("token", "t")
        let ca = try scratch.write("ca.crt", "c")
        let v4 = try InClusterConfiguration.load(environment: Self.environment, tokenPath: token, caPath: ca)
        #expect(v4 == InClusterConfiguration(baseURL: "https://10.96.0.1:443", tokenPath: token, caPath: ca))
        let v6 = try InClusterConfiguration.load(environment: ["KUBERNETES_SERVICE_HOST": "fd00:10:96::1", "KUBERNETES_SERVICE_PORT": "6443"], tokenPath: token, caPath: ca)
        #expect(v6.baseURL == "https://[fd00:10:96::1]:6443")
    }

    @Test func outsideAClusterTheErrorSaysWhatIsMissing() throws {
        let scratch = try TemporaryDirectory()
        let token = try scratch.write("token", "t")
        let ca = try scratch.write("ca.crt", "c")
        #expect(throws: KubernetesAPIError.notInCluster("KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set")) {
            try InClusterConfiguration.load(environment: [:], tokenPath: token, caPath: ca)
        }
        #expect(throws: KubernetesAPIError.notInCluster(#"KUBERNETES_SERVICE_PORT "https" is not a port number"#)) {
            try InClusterConfiguration.load(environment: ["KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "https"], tokenPath: token, caPath: ca)
        }
        #expect(throws: KubernetesAPIError.notInCluster(#"KUBERNETES_SERVICE_HOST "evil.example/x?" is not a host name or address"#)) {
            try InClusterConfiguration.load(environment: ["KUBERNETES_SERVICE_HOST": "evil.example/x?", "KUBERNETES_SERVICE_PORT": "443"], tokenPath: token, caPath: ca)
        }
        let missing = scratch.file("none")
        let error = #expect(throws: KubernetesAPIError.self) { try InClusterConfiguration.load(environment: Self.environment, tokenPath: missing, caPath: ca) }
        #expect(error?.description == "not running in a Kubernetes pod with API access: no service-account token at \(missing) (is automountServiceAccountToken false, or the token volume not mounted?)")
        #expect(throws: KubernetesAPIError.notInCluster("no cluster CA at \(missing) (is automountServiceAccountToken false, or the token volume not mounted?)")) {
            try InClusterConfiguration.load(environment: Self.environment, tokenPath: token, caPath: missing)
        }
    }
}
