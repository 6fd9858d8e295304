import Foundation
@testable import KubernetesAPI
import Testing
import TestSupport

/// `KubernetesClient` against `fake-apiserver.py`: HTTPS on loopback with its own CA, answering with
/// the API server's JSON. Assertions on what reached the server are made from its request log.
@Suite("API server client")
struct ClientTests {
    static let config = Array(APIObjects.dockerConfigJSON.utf8)

    @Test func readsASecretWithTheTokenAndOnlyTheCA() async throws {
        let server = try FakeAPIServer(routes: APIObjects.routes)
        let client = try KubernetesClient(configuration: server.configuration())
        let secret = try await client.secret(namespace: "team-a", name: "regcred")
        await client.shutdown()
        #expect(secret == Secret(namespace: "team-a", name: "regcred", type: "kubernetes.io/dockerconfigjson", data: [".dockerconfigjson": Self.config]))
        #expect(try server.requests() == [.init(path: "/api/v1/namespaces/team-a/secrets/regcred", authorization: "Bearer token-1", accept: "application/json")])
    }

    @Test func keepsOnlyTheDockerConfigKeys() async throws {
        let server = try FakeAPIServer(routes: APIObjects.routes)
        let client = try KubernetesClient(configuration: server.configuration())
        let secret = try await client.secret(namespace: "team-a", name: "opaque")
        await client.shutdown()
        #expect(secret.type == "Opaque")
        #expect(Array(secret.data.keys) == [".dockerconfigjson"])
        #expect(secret.description == "Secret team-a/opaque type Opaque, data: [.dockerconfigjson (106 bytes)]")
    }

    @Test func readsAServiceAccount() async throws {
        let server = try FakeAPIServer(routes: APIObjects.routes)
        let client = try KubernetesClient(configuration: server.configuration())
        let account = try await client.serviceAccount(namespace: "team-a", name: "builder")
        await client.shutdown()
        #expect(account == ServiceAccount(namespace: "team-a", name: "builder", imagePullSecrets: ["regcred", "missing", "locked", "opaque", "legacy"]))
        #expect(try server.requests().map(\.path) == ["/api/v1/namespaces/team-a/serviceaccounts/builder"])
    }

    @Test func notFoundAndForbiddenCarryTheStatusMessage() async throws {
        let server = try FakeAPIServer(routes: APIObjects.routes)
        let client = try KubernetesClient(configuration: server.configuration())
        let missing = await #expect(throws: KubernetesAPIError.self) { try await client.secret(namespace: "team-a", name: "missing") }
        let locked = await #expect(throws: KubernetesAPIError.self) { try await client.secret(namespace: "team-a", name: "locked") }
        await client.shutdown()
        #expect(missing == .notFound(#"secrets "missing" not found"#))
        #expect(missing?.description == #"not found: secrets "missing" not found"#)
        #expect(locked == .forbidden(APIObjects.lockedMessage))
        #expect(locked?.description == "forbidden: " + APIObjects.lockedMessage)
    }

    @Test func unauthorizedAndOtherStatuses() async throws {
        let server = try FakeAPIServer(routes: [
            APIObjects.secretPath("a"): .init(status: 401, body: APIObjects.unauthorized),
            APIObjects.secretPath("b"): .init(status: 500, body: "oops"),
            APIObjects.secretPath("c"): .init(body: APIObjects.builder),
            APIObjects.secretPath("d"): .init(body: "not json"),
        ])
        let client = try KubernetesClient(configuration: server.configuration())
        await #expect(throws: KubernetesAPIError.unauthorized("Unauthorized")) { try await client.secret(namespace: "team-a", name: "a") }
        await #expect(throws: KubernetesAPIError.status(code: 500, message: "Internal Server Error")) { try await client.secret(namespace: "team-a", name: "b") }
        await #expect(throws: KubernetesAPIError.invalidResponse(#"expected kind Secret, got "ServiceAccount""#)) { try await client.secret(namespace: "team-a", name: "c") }
        await #expect(throws: KubernetesAPIError.invalidResponse("not JSON: line 1, column 2 (byte 1): invalid literal, expected 'null'")) {
            try await client.secret(namespace: "team-a", name: "d")
        }
        await client.shutdown()
    }

    /// The kubelet swaps a projected token by renaming a new `..data` directory into place; the next
    /// read sends the new token.
    @Test func aRotatedTokenIsSentAtOnce() async throws {
        let server = try FakeAPIServer(routes: APIObjects.routes)
        let client = try KubernetesClient(configuration: server.configuration())
        _ = try await client.secret(namespace: "team-a", name: "regcred")
        try server.scratch.write("token.new", "token-2\n")
        #expect(rename(server.scratch.file("token.new"), server.tokenPath) == 0)
        _ = try await client.secret(namespace: "team-a", name: "legacy")
        // Rewritten in place, same length.
        try server.scratch.write("token", "token-3")
        _ = try await client.serviceAccount(namespace: "team-a", name: "builder")
        await client.shutdown()
        #expect(try server.requests().map(\.authorization) == ["Bearer token-1", "Bearer token-2", "Bearer token-3"])
    }

    @Test func aTokenFileThatIsNotATokenIsAnError() throws {
        let scratch = try TemporaryDirectory()
        try scratch.write("empty", "\n")
        try scratch.write("binary", "a\u{1}b")
        try scratch.write("padded", "  abc.def \r\n")
        #expect(try ServiceAccountToken(path: scratch.file("padded")).current() == "abc.def")
        for name in ["empty", "binary"] {
            #expect(throws: KubernetesAPIError.notInCluster("the service-account token at \(scratch.file(name)) is empty or not a token")) {
                try ServiceAccountToken(path: scratch.file(name)).current()
            }
        }
        #expect(throws: KubernetesAPIError.notInCluster("cannot read the service-account token at \(scratch.file("gone"))")) {
            try ServiceAccountToken(path: scratch.file("gone")).current()
        }
    }

    @Test func aServerFromAnotherCAIsRefused() async throws {
        let server = try FakeAPIServer(routes: APIObjects.routes, certificate: "other-server")
        let client = try KubernetesClient(configuration: server.configuration())
        await #expect(throws: KubernetesAPIError.transport("TLS certificate verification failed: the server's certificate is not from the cluster CA")) {
            try await client.secret(namespace: "team-a", name: "regcred")
        }
        await client.shutdown()
        // The handshake failed: no request, so no token, reached the server.
        #expect(try server.requests().isEmpty)
    }

    @Test func aCAFileWithoutCertificatesIsRefused() throws {
        let scratch = try TemporaryDirectory()
        let ca = try scratch.write("ca.crt", "not a certificate\n")
        let configuration = KubernetesClientConfiguration(cluster: InClusterConfiguration(baseURL: "https://127.0.0.1:1", tokenPath: ca, caPath: ca))
        #expect(throws: KubernetesAPIError.notInCluster("no PEM certificate in the cluster CA at \(ca)")) { try KubernetesClient(configuration: configuration) }
        let missing = KubernetesClientConfiguration(cluster: InClusterConfiguration(baseURL: "https://127.0.0.1:1", tokenPath: ca, caPath: scratch.file("none")))
        #expect(throws: KubernetesAPIError.notInCluster("no PEM certificate in the cluster CA at \(scratch.file("none"))")) { try KubernetesClient(configuration: missing) }
    }

    @Test func answersAndNotFoundAreCachedThenExpire() async throws {
        let server = try FakeAPIServer(routes: APIObjects.routes)
        // A lifetime no loaded machine outruns: every read after the first is a cache hit.
        var lasting = server.configuration()
        lasting.cacheLifetime = .seconds(60)
        let client = try KubernetesClient(configuration: lasting)
        for _ in 0..<3 {
            _ = try await client.secret(namespace: "team-a", name: "regcred")
            _ = try? await client.secret(namespace: "team-a", name: "missing")
            _ = try? await client.secret(namespace: "team-a", name: "locked")
        }
        await client.shutdown()
        #expect(try server.requests().count == 3)
        // A short lifetime: the cached 404 goes, the object is read again, and the change is seen.
        var short = server.configuration()
        short.cacheLifetime = .milliseconds(200)
        let expiring = try KubernetesClient(configuration: short)
        _ = try? await expiring.secret(namespace: "team-a", name: "missing")
        try server.setRoutes(APIObjects.routes.merging([APIObjects.secretPath("missing"): .init(body: APIObjects.legacy)]) { $1 })
        try await Task.sleep(for: .milliseconds(600))
        let found = try await expiring.secret(namespace: "team-a", name: "missing")
        await expiring.shutdown()
        #expect(found.type == "kubernetes.io/dockercfg")
        #expect(try server.requests().map(\.path) == [
            APIObjects.secretPath("regcred"), APIObjects.secretPath("missing"), APIObjects.secretPath("locked"),
            APIObjects.secretPath("missing"), APIObjects.secretPath("missing"),
        ])
    }

    @Test func timeoutsAndTransportErrorsAreNotCached() async throws {
        let server = try FakeAPIServer(routes: [APIObjects.secretPath("slow"): .init(body: APIObjects.regcred, delay: 1.5)])
        var configuration = server.configuration()
        configuration.timeout = .milliseconds(300)
        let client = try KubernetesClient(configuration: configuration)
        await #expect(throws: KubernetesAPIError.timeout(after: .milliseconds(300))) { try await client.secret(namespace: "team-a", name: "slow") }
        await #expect(throws: KubernetesAPIError.timeout(after: .milliseconds(300))) { try await client.secret(namespace: "team-a", name: "slow") }
        await client.shutdown()
        #expect(try server.requests().count == 2)
    }

    @Test func concurrentReadsOfOneSecretShareOneRequest() async throws {
        let server = try FakeAPIServer(routes: [APIObjects.secretPath("regcred"): .init(body: APIObjects.regcred, delay: 0.4)])
        let client = try KubernetesClient(configuration: server.configuration())
        let types = await withTaskGroup(of: String?.self) { group in
            for _ in 0..<20 { group.addTask { try? await client.secret(namespace: "team-a", name: "regcred").type } }
            return await group.reduce(into: [String?]()) { $0.append($1) }
        }
        await client.shutdown()
        #expect(types == Array(repeating: "kubernetes.io/dockerconfigjson", count: 20))
        #expect(try server.requests().count == 1)
    }

    @Test(arguments: [false, true])
    func answersAreBounded(chunked: Bool) async throws {
        let server = try FakeAPIServer(routes: [
            APIObjects.secretPath("huge"): .init(body: APIObjects.regcred, pad: 1 << 20, chunked: chunked),
            APIObjects.secretPath("fits"): .init(body: APIObjects.regcred, pad: (1 << 20) - 1024, chunked: chunked),
        ])
        let client = try KubernetesClient(configuration: server.configuration())
        await #expect(throws: KubernetesAPIError.tooLarge(limit: 1 << 20)) { try await client.secret(namespace: "team-a", name: "huge") }
        #expect(try await client.secret(namespace: "team-a", name: "fits").data == [".dockerconfigjson": Self.config])
        await client.shutdown()
    }

    /// Names go into the URL path only once valid, so none can reach another path; nothing is sent.
    @Test(arguments: [
        ("team-a", "../../../api/v1/secrets", #"invalid secret name "../../../api/v1/secrets": must not be empty or contain an empty label"#),
        ("team-a", "a/b", #"invalid secret name "a/b": must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"#),
        ("team-a", "reg%2fcred", #"invalid secret name "reg%2fcred": must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"#),
        ("team-a", "RegCred", #"invalid secret name "RegCred": must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"#),
        ("team-a", "", #"invalid secret name "": must not be empty or contain an empty label"#),
        ("team-a", String(repeating: "a", count: 254), "invalid secret name \"\(String(repeating: "a", count: 80))…\": must be no more than 253 characters"),
        ("team.a", "regcred", #"invalid namespace "team.a": must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"#),
        ("team-a?x=", "regcred", #"invalid namespace "team-a?x=": must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"#),
        (String(repeating: "n", count: 64), "regcred", "invalid namespace \"\(String(repeating: "n", count: 64))\": must be no more than 63 characters"),
        ("team-a", "bad\nname", #"invalid secret name "bad\u{a}name": must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"#),
    ])
    func invalidNamesAreRefusedBeforeAnyRequest(namespace: String, name: String, message: String) async throws {
        let server = try FakeAPIServer(routes: APIObjects.routes)
        let client = try KubernetesClient(configuration: server.configuration())
        let error = await #expect(throws: KubernetesAPIError.self) { try await client.secret(namespace: namespace, name: name) }
        await client.shutdown()
        #expect(error?.description == message)
        #expect(try server.requests().isEmpty)
    }

    @Test func longValidNamesAreAccepted() throws {
        try ObjectName.validateNamespace(String(repeating: "n", count: 63))
        try ObjectName.validateSubdomain("a.b-c.d1", what: "secret name")
        try ObjectName.validateSubdomain(String(repeating: "a", count: 253), what: "secret name")
    }
}
