import Foundation
import ImageConfig
@testable import ImageRegistry
import ImageResolution
import NonRootPolicy
import Testing
import TestSupport

/// The registry client against real `docker-registry` processes (scripts/registry-fixture.sh).
@Suite("registry lookup against the fixture", .serialized)
struct RegistryLookupFixtureTests {
    /// A registry lookup for the fixture: loopback allowed, the plain and fault registries over HTTP, the test CA.
    static func resolver(_ fixture: RegistryFixture, _ change: (inout RegistryConfiguration) -> Void = { _ in }) throws -> RegistryLookup {
        var configuration = RegistryConfiguration()
        configuration.allowPrivateAddresses = true
        configuration.insecureRegistries = [fixture.plain, fixture.faults]
        configuration.caFile = fixture.caCertificate
        // Generous: these tests are about answers, and the test process shares two cores with every
        // other suite (CPU-bound ones can hold the cooperative pool for seconds).
        configuration.timeout = .seconds(30)
        change(&configuration)
        return try RegistryLookup(configuration: configuration)
    }

    static func users(_ result: Result<ResolvedImage, RegistryError>) -> [String] {
        switch result {
        case .success(let image): image.variants.map { "\($0.platform?.description ?? "-")=\($0.user ?? "<absent>")" }
        case .failure(let error): ["error: \(error)"]
        }
    }

    static func error(_ result: Result<ResolvedImage, RegistryError>) -> RegistryError? {
        if case .failure(let error) = result { error } else { nil }
    }

    static var soon: ContinuousClock.Instant { .now + .seconds(30) }

    @Test func everyPushedImageByTagAndByDigest() async throws {
        guard let fixture = RegistryFixture.required() else { return }
        let resolver = try Self.resolver(fixture)
        #expect(fixture.images.count == 32)
        for image in fixture.images where image.repository != "private/users" {
            for reference in ["\(fixture.plain)/\(image.repository):\(image.tag)", "\(fixture.plain)/\(image.repository)@\(image.digest)"] {
                let result = await resolver.resolve(reference, deadline: Self.soon)
                guard case .success(let resolved) = result else {
                    Issue.record("\(reference): \(result)")
                    continue
                }
                #expect(resolved.digest == image.digest, "\(reference)")
                if let byPlatform = image.usersByPlatform {
                    #expect(resolved.isIndex)
                    #expect(Dictionary(uniqueKeysWithValues: resolved.variants.map { ($0.platform?.description ?? "", $0.user ?? "") }) == byPlatform, "\(reference)")
                } else {
                    #expect(!resolved.isIndex)
                    #expect(resolved.variants.map(\.user) == [image.user], "\(reference)")
                    #expect(resolved.variants.map { $0.platform?.description } == ["linux/amd64"], "\(reference)")
                }
            }
        }
        await resolver.shutdown()
    }

    /// What the policy reads: the kubelet's three "no USER" forms are one, names and uids stay as they are.
    @Test(arguments: [
        ("user-unset", ImageUser.unset), ("user-empty", .unset), ("no-config-section", .unset), ("user-0", .uid(0)),
        ("user-0-0", .uid(0)), ("user-root", .name("root")), ("user-app-app", .name("app")), ("user-1000-1000", .uid(1000)),
        ("user-1000-nomediatype", .uid(1000)), ("zero-layers", .uid(1000)), ("user-65532", .uid(65532)),
    ])
    func lookupsAsThePolicyReadsThem(tag: String, expected: ImageUser) async throws {
        guard let fixture = RegistryFixture.required() else { return }
        let resolver = try Self.resolver(fixture)
        let lookup = await resolver.lookup("\(fixture.plain)/oci/users:\(tag)", deadline: Self.soon)
        #expect(lookup == .found([ImageUserVariant(user: expected)]))
        await resolver.shutdown()
    }

    @Test(arguments: ["oci", "v2s2"])
    func indexPlatformsDisagree(format: String) async throws {
        guard let fixture = RegistryFixture.required() else { return }
        let resolver = try Self.resolver(fixture)
        let all = await resolver.lookup("\(fixture.plain)/\(format)/users:multiarch", deadline: Self.soon)
        #expect(all == .found([ImageUserVariant(user: .uid(1000), platform: "linux/amd64"), ImageUserVariant(user: .uid(0), platform: "linux/arm64/v8")]))
        await resolver.shutdown()

        let amd64 = try Self.resolver(fixture) { $0.platforms = [Platform(os: "linux", architecture: "amd64")] }
        #expect(Self.users(await amd64.resolve("\(fixture.plain)/\(format)/users:multiarch", deadline: Self.soon)) == ["linux/amd64=1000"])
        await amd64.shutdown()

        let arm = try Self.resolver(fixture) { $0.platforms = [Platform(os: "linux", architecture: "arm64")] }
        #expect(Self.users(await arm.resolve("\(fixture.plain)/\(format)/users:multiarch", deadline: Self.soon)) == ["linux/arm64/v8=0"])
        await arm.shutdown()

        let s390x = try Self.resolver(fixture) { $0.platforms = [Platform(os: "linux", architecture: "s390x")] }
        #expect(Self.users(await s390x.resolve("\(fixture.plain)/\(format)/users:multiarch", deadline: Self.soon))
            == ["error: the image index has no manifest for linux/s390x (it lists linux/amd64, linux/arm64/v8)"])
        await s390x.shutdown()
    }

    /// `library/` belongs to docker.io alone: `127.0.0.1:5100/app` is repository `app` (USER 1000), not `library/app` (USER 0).
    @Test func libraryPrefixOnlyForDockerHub() async throws {
        guard let fixture = RegistryFixture.required() else { return }
        let resolver = try Self.resolver(fixture)
        #expect(Self.users(await resolver.resolve("\(fixture.plain)/app", deadline: Self.soon)) == ["linux/amd64=1000"])
        #expect(Self.users(await resolver.resolve("\(fixture.plain)/library/app:latest", deadline: Self.soon)) == ["linux/amd64=0"])
        await resolver.shutdown()
    }

    @Test func tlsWithTheCustomCA() async throws {
        guard let fixture = RegistryFixture.required() else { return }
        let resolver = try Self.resolver(fixture)
        #expect(Self.users(await resolver.resolve("\(fixture.tls)/oci/users:user-0-0", deadline: Self.soon)) == ["linux/amd64=0:0"])
        await resolver.shutdown()

        let untrusting = try Self.resolver(fixture) { $0.caFile = nil }
        let error = Self.error(await untrusting.resolve("\(fixture.tls)/oci/users:user-0-0", deadline: Self.soon))
        #expect(error?.description == "cannot reach registry \(fixture.tls): TLS failed: certificate verification failed; is the registry's CA in --registry-ca-file?")
        await untrusting.shutdown()
    }

    /// A host name is resolved by the client and the connection pinned to the checked address, while
    /// TLS still verifies the name: the fixture's certificate is for `localhost` and 127.0.0.1.
    @Test func hostNamesArePinnedAndVerifiedByName() async throws {
        guard let fixture = RegistryFixture.required() else { return }
        let resolver = try Self.resolver(fixture)
        let port = fixture.tls.split(separator: ":").last.map(String.init) ?? ""
        #expect(Self.users(await resolver.resolve("localhost:\(port)/oci/users:user-app", deadline: Self.soon)) == ["linux/amd64=app"])
        #expect(Self.users(await resolver.resolve("localhost:\(port)/v2s2/users:multiarch", deadline: Self.soon)) == ["linux/amd64=1000", "linux/arm64/v8=0"])
        await resolver.shutdown()
    }

    @Test func basicAuthentication() async throws {
        guard let fixture = RegistryFixture.required() else { return }
        let anonymous = try Self.resolver(fixture)
        #expect(Self.users(await anonymous.resolve("\(fixture.basic)/oci/users:user-app-app", deadline: Self.soon))
            == ["error: registry \(fixture.basic) refused access: the registry requires credentials and none were found for \(fixture.basic)"])
        await anonymous.shutdown()

        let credentialed = try Self.resolver(fixture) { $0.credentials = try! DockerKeyring.load(path: fixture.dockerConfig) }
        #expect(Self.users(await credentialed.resolve("\(fixture.basic)/oci/users:user-app-app", deadline: Self.soon)) == ["linux/amd64=app:app"])
        #expect(Self.users(await credentialed.resolve("\(fixture.basic)/v2s2/users:multiarch", deadline: Self.soon)) == ["linux/amd64=1000", "linux/arm64/v8=0"])
        await credentialed.shutdown()

        let wrong = try Self.resolver(fixture) { $0.credentials = try! DockerKeyring.parse(Array(#"{"auths":{"\#(fixture.basic)":{"username":"testuser","password":"wrong"}}}"#.utf8), source: "t") }
        #expect(Self.users(await wrong.resolve("\(fixture.basic)/oci/users:user-app", deadline: Self.soon))
            == ["error: registry \(fixture.basic) refused access: UNAUTHORIZED: authentication required"])
        await wrong.shutdown()
    }

    @Test func bearerTokens() async throws {
        guard let fixture = RegistryFixture.required() else { return }
        let anonymous = try Self.resolver(fixture)
        #expect(Self.users(await anonymous.resolve("\(fixture.token)/v2s2/users:multiarch", deadline: Self.soon)) == ["linux/amd64=1000", "linux/arm64/v8=0"])
        #expect(Self.users(await anonymous.resolve("\(fixture.token)/private/users:user-1000", deadline: Self.soon))
            == ["error: registry \(fixture.token) refused access: UNAUTHORIZED: authentication required (anonymous; no credentials for \(fixture.token))"])
        await anonymous.shutdown()

        let credentialed = try Self.resolver(fixture) { $0.credentials = try! DockerKeyring.load(path: fixture.dockerConfig) }
        #expect(Self.users(await credentialed.resolve("\(fixture.token)/private/users:user-1000", deadline: Self.soon)) == ["linux/amd64=1000"])
        await credentialed.shutdown()

        let wrong = try Self.resolver(fixture) { $0.credentials = try! DockerKeyring.parse(Array(#"{"auths":{"\#(fixture.token)":{"username":"testuser","password":"wrong"}}}"#.utf8), source: "t") }
        #expect(Self.users(await wrong.resolve("\(fixture.token)/oci/users:user-0", deadline: Self.soon))
            == ["error: registry \(fixture.token) refused access: token server \(fixture.host("REGFIX_TOKEN_REALM")) answered 401 Unauthorized for the credentials from --registry-auth-file: UNAUTHORIZED: invalid credentials"])
        await wrong.shutdown()
    }

    /// The redirecting registry sends blob GETs to another origin, which (like S3) answers 400 to any
    /// Authorization header: the lookup only works if the credentials stay behind.
    @Test func crossOriginRedirectDropsCredentials() async throws {
        guard let fixture = RegistryFixture.required() else { return }
        let resolver = try Self.resolver(fixture) { $0.credentials = try! DockerKeyring.load(path: fixture.dockerConfig) }
        #expect(Self.users(await resolver.resolve("\(fixture.redirect)/oci/users:user-65532", deadline: Self.soon)) == ["linux/amd64=65532"])
        #expect(Self.users(await resolver.resolve("\(fixture.redirect)/v2s2/users:user-root", deadline: Self.soon)) == ["linux/amd64=root"])
        await resolver.shutdown()
    }

    @Test(arguments: [
        ("429", "registry answered 429 Too Many Requests to GET manifest user-0: TOOMANYREQUESTS: rate limit exceeded (injected by registry-fixture) (Retry-After: 1)"),
        ("500", "registry answered 500 Internal Server Error to GET manifest user-0: UNKNOWN: internal error (injected by registry-fixture)"),
        ("502", "registry answered 502 Bad Gateway to GET manifest user-0"),
        ("503", "registry answered 503 Service Unavailable to GET manifest user-0: UNAVAILABLE: service unavailable (injected by registry-fixture) (Retry-After: 1)"),
        ("blob404", "registry answered 404 Not Found to GET config blob sha256:7f6ba3d66b4de4fb3c8e4d53e0dc5d2e1a0d29e7fb07ab53e2f7bc4a8f66ba3e: BLOB_UNKNOWN: blob unknown to registry (injected by registry-fixture)"),
        ("garbage", "manifest user-0: manifest is not valid JSON: line 1, column 1 (byte 0): unexpected character '<', expected a value"),
        ("bigmanifest", "manifest user-0 is larger than 1 MiB, the most read for one registry document"),
        ("redirectloop", "more than 3 redirects"),
        ("basic401", "registry FAULTS refused access: the registry requires credentials and none were found for FAULTS"),
    ])
    func faultsBecomeReasons(kind: String, reason: String) async throws {
        guard let fixture = RegistryFixture.required() else { return }
        let resolver = try Self.resolver(fixture)
        let result = await resolver.resolve("\(fixture.faults)/fault/\(kind)/oci/users:user-0", deadline: Self.soon)
        if kind == "blob404" {
            // The config digest differs per image; check the shape.
            #expect(Self.users(result).first?.hasPrefix("error: registry answered 404 Not Found to GET config blob sha256:") == true, "\(result)")
        } else {
            #expect(Self.users(result) == ["error: " + reason.replacingOccurrences(of: "FAULTS", with: fixture.faults)])
        }
        await resolver.shutdown()
    }

    @Test func corruptAndTruncatedBlobsAreErrorsNeverAnswers() async throws {
        guard let fixture = RegistryFixture.required() else { return }
        let resolver = try Self.resolver(fixture)
        let config = try #require(fixture.images.first { $0.repository == "oci/users" && $0.tag == "user-1000" })
        _ = config
        let corrupt = Self.users(await resolver.resolve("\(fixture.faults)/fault/blobcorrupt/oci/users:user-1000", deadline: Self.soon))
        #expect(corrupt.count == 1 && corrupt[0].hasPrefix("error: config blob sha256:") && corrupt[0].contains(" does not match its digest: the body hashes to sha256:"), "\(corrupt)")
        let truncated = Self.users(await resolver.resolve("\(fixture.faults)/fault/blobtruncate/oci/users:user-1000", deadline: Self.soon))
        #expect(truncated == ["error: cannot reach registry \(fixture.faults): the connection closed before the answer was complete"], "\(truncated)")
        await resolver.shutdown()
    }

    /// The fault proxy redirects a manifest GET to the blob host, which answers 401 with a Bearer
    /// challenge whose realm is itself. The registry's credentials must not go there.
    @Test func challengesFromARedirectedHopAreNotAnswered() async throws {
        guard let fixture = RegistryFixture.required() else { return }
        let credentials = try DockerKeyring.parse(Array(#"{"auths":{"\#(fixture.faults)":{"username":"testuser","password":"testpassword"}}}"#.utf8), source: "t")
        let resolver = try Self.resolver(fixture) { $0.credentials = credentials }
        let blobhost = fixture.host("REGFIX_BLOBHOST_URL")
        #expect(Self.users(await resolver.resolve("\(fixture.faults)/fault/redirectchallenge/oci/users:user-0", deadline: Self.soon))
            == ["error: registry \(fixture.faults) refused access: the redirect to \(blobhost) answered 401; credentials are sent only to the registry itself, so that challenge is not answered"])
        await resolver.shutdown()
    }

    /// With the bound at 1, the second platform of the index is never fetched and the answer names it.
    @Test(arguments: ["oci", "v2s2"])
    func indexEntriesPastTheBoundAreReported(format: String) async throws {
        guard let fixture = RegistryFixture.required() else { return }
        let resolver = try Self.resolver(fixture) { $0.maximumIndexEntries = 1 }
        let before = try fixture.requestCounts()
        let lookup = await resolver.lookup("\(fixture.faults)/\(format)/users:multiarch", deadline: Self.soon)
        // The platform past the bound is an unresolved platform; the evaluated one keeps its answer.
        guard case .partlyFound(let found, let unevaluated, let reason) = lookup else {
            Issue.record("expected a partial answer, got \(lookup)")
            return
        }
        #expect(found.map(\.platform) == ["linux/amd64"])
        #expect(unevaluated == ["linux/arm64/v8"])
        #expect(reason == "the image index lists 2 platforms to evaluate, more than the 1 evaluated per image; not evaluated: linux/arm64/v8")
        let manifests = try fixture.requestsSince(before, containing: "/v2/\(format)/users/manifests/")
        // The index by tag and the first platform's manifest by digest: two GETs, not three.
        #expect(manifests.values.reduce(0, +) == 2, "\(manifests)")
        await resolver.shutdown()
    }

    /// One request slot, held by a slow registry: a second lookup waits for it until its deadline,
    /// then is unresolved with the limit's name.
    @Test func lookupsPastTheFetchCapWaitThenGiveUp() async throws {
        guard let fixture = RegistryFixture.required() else { return }
        let resolver = try Self.resolver(fixture) { $0.maximumConcurrentFetches = 1; $0.timeout = .seconds(3) }
        let slow = Task { await resolver.resolve("\(fixture.faults)/fault/slow/oci/users:user-0", deadline: .now + .seconds(3)) }
        while resolver.client.transport.fetches.used < 1 { try await Task.sleep(for: .milliseconds(10)) }
        let started = ContinuousClock.now
        let waiting = await resolver.resolve("\(fixture.plain)/oci/users:user-1000", deadline: .now + .milliseconds(500))
        #expect(ContinuousClock.now - started >= .milliseconds(450))
        #expect(Self.users(waiting) == ["error: registry lookups are busy: 1 request in flight, the most allowed (--registry-max-concurrent-fetches); no room came free before the lookup's deadline"])
        #expect(Self.users(await slow.value) == ["error: registry lookup timed out after 3s"])
        // Room again once the slow request has given up: another image resolves, and nothing stays charged.
        #expect(Self.users(await resolver.resolve("\(fixture.plain)/oci/users:user-65532", deadline: Self.soon)) == ["linux/amd64=65532"])
        while resolver.client.transport.fetches.used > 0 || resolver.client.transport.fetches.waiting > 0 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(resolver.client.transport.fetches.used == 0)
        #expect(resolver.client.transport.bytes.used == 0)
        await resolver.shutdown()
    }

    @Test func hangsEndAtTheDeadline() async throws {
        guard let fixture = RegistryFixture.required() else { return }
        let resolver = try Self.resolver(fixture)
        let started = ContinuousClock.now
        let result = await resolver.resolve("\(fixture.faults)/fault/hang/oci/users:user-0", deadline: .now + .milliseconds(700))
        let elapsed = ContinuousClock.now - started
        #expect(Self.users(result) == ["error: registry lookup timed out after 700ms"], "\(result)")
        // Ends at the deadline, not when the registry gives up (30 s); the slack is for a loaded machine.
        #expect(elapsed >= .milliseconds(650) && elapsed < .seconds(5), "\(elapsed)")
        await resolver.shutdown()
    }

    @Test func redirectsToPlainHTTPAreRefused() async throws {
        guard let fixture = RegistryFixture.required() else { return }
        // Only the fault proxy may be plain HTTP: its redirect to the plain registry is refused.
        let resolver = try Self.resolver(fixture) { $0.insecureRegistries = [fixture.faults] }
        #expect(Self.users(await resolver.resolve("\(fixture.faults)/fault/redirecthttp/oci/users:user-1000", deadline: Self.soon))
            == ["error: refusing plain HTTP to http://\(fixture.plain)/v2/oci/users/manifests/user-1000; name the registry in --registry-allow-insecure to allow it"])
        await resolver.shutdown()

        let https = try Self.resolver(fixture) { $0.insecureRegistries = [] }
        let plain = Self.users(await https.resolve("\(fixture.plain)/oci/users:user-1000", deadline: Self.soon))
        #expect(plain == ["error: cannot reach registry \(fixture.plain): TLS failed: the server does not speak TLS; if it is a plain HTTP registry, name it in --registry-allow-insecure"])
        await https.shutdown()
    }

    @Test func credentialsAreNeverSentOverPlainHTTP() async throws {
        guard let fixture = RegistryFixture.required() else { return }
        let resolver = try Self.resolver(fixture) {
            $0.credentials = try! DockerKeyring.parse(Array(#"{"auths":{"\#(fixture.faults)":{"username":"u","password":"secret"}}}"#.utf8), source: "t")
        }
        #expect(Self.users(await resolver.resolve("\(fixture.faults)/fault/basic401/oci/users:user-0", deadline: Self.soon))
            == ["error: registry \(fixture.faults) asks for credentials over plain HTTP; they are never sent unencrypted"])
        await resolver.shutdown()
    }

    @Test func internalAddressesAreRefusedByDefault() async throws {
        guard let fixture = RegistryFixture.required() else { return }
        let before = try fixture.requestCounts()
        let resolver = try Self.resolver(fixture) { $0.allowPrivateAddresses = false }
        #expect(Self.users(await resolver.resolve("\(fixture.faults)/oci/users:user-0", deadline: Self.soon))
            == ["error: registry address 127.0.0.1 is a loopback address; lookups there need --registry-allow-private"])
        let port = fixture.faults.split(separator: ":").last ?? ""
        #expect(Self.users(await resolver.resolve("localhost:\(port)/oci/users:user-0", deadline: Self.soon))
            == ["error: registry host localhost resolves to 127.0.0.1, a loopback address; lookups there need --registry-allow-private"])
        #expect(Self.users(await resolver.resolve("169.254.169.254/latest/meta-data", deadline: Self.soon))
            == ["error: registry address 169.254.169.254 is a link-local (169.254.0.0/16) address; lookups there need --registry-allow-private"])
        #expect(try fixture.requestsSince(before, containing: "/oci/users/manifests/user-0").isEmpty)
        await resolver.shutdown()
    }

    @Test func allowlistRestrictsRegistries() async throws {
        guard let fixture = RegistryFixture.required() else { return }
        let resolver = try Self.resolver(fixture) { $0.allowlist = [fixture.plain] }
        #expect(Self.users(await resolver.resolve("\(fixture.plain)/oci/users:user-1000", deadline: Self.soon)) == ["linux/amd64=1000"])
        #expect(Self.users(await resolver.resolve("\(fixture.tls)/oci/users:user-1000", deadline: Self.soon)) == ["error: registry \(fixture.tls) is not in --registry-allowlist"])
        await resolver.shutdown()
    }

    /// 100 simultaneous lookups of one uncached image: one manifest GET and one config GET at the registry.
    @Test func singleFlight() async throws {
        guard let fixture = RegistryFixture.required() else { return }
        let resolver = try Self.resolver(fixture)
        let before = try fixture.requestCounts()
        let image = "\(fixture.faults)/v2s2/users:user-64198"
        let lookups = await withTaskGroup(of: ImageUserLookup.self) { group in
            for _ in 0..<100 { group.addTask { await resolver.lookup(image, deadline: Self.soon) } }
            var all: [ImageUserLookup] = []
            for await lookup in group { all.append(lookup) }
            return all
        }
        #expect(lookups.count == 100)
        #expect(lookups.allSatisfy { $0 == .found([ImageUserVariant(user: .uid(64198))]) })
        let counted = try fixture.requestsSince(before, containing: "/v2/v2s2/users/")
        #expect(counted.count == 2, "\(counted)")
        #expect(counted["GET /v2/v2s2/users/manifests/user-64198"] == 1, "\(counted)")
        #expect(counted.filter { $0.key.hasPrefix("GET /v2/v2s2/users/blobs/sha256:") }.values.first == 1, "\(counted)")
        await resolver.shutdown()
    }

    /// A cached tag costs nothing; after its TTL one HEAD revalidates it; a failure is remembered, then retried.
    @Test func cachesAndTheirLifetimes() async throws {
        guard let fixture = RegistryFixture.required() else { return }
        let resolver = try Self.resolver(fixture) {
            // Long enough that a loaded machine still makes its lookups inside them.
            $0.tagTTL = .seconds(2)
            $0.failureTTL = .seconds(2)
        }
        let image = "\(fixture.faults)/oci/users:user-64198"
        let before = try fixture.requestCounts()
        for _ in 0..<5 {
            #expect(await resolver.lookup(image, deadline: Self.soon) == .found([ImageUserVariant(user: .uid(64198))]))
        }
        var counted = try fixture.requestsSince(before, containing: "/v2/oci/users/")
        #expect(counted["GET /v2/oci/users/manifests/user-64198"] == 1, "\(counted)")
        #expect(counted.filter { $0.key.hasPrefix("GET /v2/oci/users/blobs/") }.values.reduce(0, +) == 1, "\(counted)")
        #expect(counted.count == 2, "\(counted)")

        try await Task.sleep(for: .milliseconds(2100))
        #expect(await resolver.lookup(image, deadline: Self.soon) == .found([ImageUserVariant(user: .uid(64198))]))
        #expect(await resolver.lookup(image, deadline: Self.soon) == .found([ImageUserVariant(user: .uid(64198))]))
        counted = try fixture.requestsSince(before, containing: "/v2/oci/users/")
        #expect(counted["HEAD /v2/oci/users/manifests/user-64198"] == 1, "\(counted)")
        #expect(counted["GET /v2/oci/users/manifests/user-64198"] == 1, "\(counted)")
        #expect(counted.count == 3, "\(counted)")

        // Failures: remembered for the failure TTL, then tried again.
        let failing = "\(fixture.faults)/fault/500/oci/users:user-64198"
        let failingBefore = try fixture.requestCounts()
        for _ in 0..<3 { _ = await resolver.lookup(failing, deadline: Self.soon) }
        #expect(try fixture.requestsSince(failingBefore, containing: "/fault/500/oci/users/manifests/user-64198").values.reduce(0, +) == 1)
        try await Task.sleep(for: .milliseconds(2100))
        _ = await resolver.lookup(failing, deadline: Self.soon)
        #expect(try fixture.requestsSince(failingBefore, containing: "/fault/500/oci/users/manifests/user-64198").values.reduce(0, +) == 2)
        await resolver.shutdown()
    }

    /// Lookups recover when a failing registry comes back (flaky: the first request fails).
    @Test func recoversAfterTheFailureTTL() async throws {
        guard let fixture = RegistryFixture.required() else { return }
        let resolver = try Self.resolver(fixture) { $0.failureTTL = .seconds(1) }
        let image = "\(fixture.faults)/fault/flaky503/v2s2/users:user-65532"
        _ = try RegistryFixture.curlForTests(fixture.environment["REGFIX_FAULTS_URL"]! + "/_fault/reset")
        let first = await resolver.lookup(image, deadline: Self.soon)
        #expect(first == .unresolved(reason: "registry answered 503 Service Unavailable to GET manifest user-65532: UNAVAILABLE: service unavailable (injected by registry-fixture) (Retry-After: 0)"))
        #expect(await resolver.lookup(image, deadline: Self.soon) == first)
        // The manifest now passes; the config blob's first request fails the same way.
        try await Task.sleep(for: .milliseconds(1100))
        let second = await resolver.lookup(image, deadline: Self.soon)
        guard case .unresolved(let reason) = second else {
            Issue.record("\(second)")
            return
        }
        #expect(reason.hasPrefix("registry answered 503 Service Unavailable to GET config blob sha256:"), "\(reason)")
        try await Task.sleep(for: .milliseconds(1100))
        #expect(await resolver.lookup(image, deadline: Self.soon) == .found([ImageUserVariant(user: .uid(65532))]))
        await resolver.shutdown()
    }

    /// Stale if error: once a tag's answer is known, a registry that cannot answer the re-check (here
    /// the first HEAD fails with 503) leaves the last answer standing instead of "cannot verify".
    @Test func aFailedTagRecheckKeepsTheLastAnswer() async throws {
        guard let fixture = RegistryFixture.required() else { return }
        let resolver = try Self.resolver(fixture) {
            $0.failureTTL = .milliseconds(500)
            $0.tagTTL = .milliseconds(500)
        }
        let image = "\(fixture.faults)/fault/flaky503/v2s2/users:user-app"
        _ = try RegistryFixture.curlForTests(fixture.environment["REGFIX_FAULTS_URL"]! + "/_fault/reset")
        // The flaky path fails the first GET of the manifest, then the first GET of the config blob.
        var lookup = await resolver.lookup(image, deadline: Self.soon)
        for _ in 0..<2 where lookup != .found([ImageUserVariant(user: .name("app"))]) {
            try await Task.sleep(for: .milliseconds(600))
            lookup = await resolver.lookup(image, deadline: Self.soon)
        }
        #expect(lookup == .found([ImageUserVariant(user: .name("app"))]))
        // The tag's TTL runs out; its first HEAD fails; the answer stands.
        try await Task.sleep(for: .milliseconds(600))
        let before = try fixture.requestCounts()
        #expect(await resolver.lookup(image, deadline: Self.soon) == .found([ImageUserVariant(user: .name("app"))]))
        #expect(try fixture.requestsSince(before, containing: "/fault/flaky503/v2s2/users/manifests/user-app") == ["HEAD /v2/fault/flaky503/v2s2/users/manifests/user-app": 1])
        await resolver.shutdown()
    }
}
