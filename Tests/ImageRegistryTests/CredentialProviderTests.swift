import Foundation
import ImageConfig
@testable import ImageRegistry
import ImageResolution
import NonRootPolicy
import Testing
import TestSupport

private func providers(_ text: String) throws(RegistryCredentialsError) -> [CredentialProviderConfiguration.Provider] {
    try CredentialProviderConfiguration.parse(Array(text.utf8), source: "config.yaml")
}

private func configError(_ text: String) -> String? {
    do {
        let parsed = try providers(text)
        Issue.record("expected an error, got \(parsed.count) providers")
        return nil
    } catch {
        return error.description
    }
}

private let header = """
    apiVersion: kubelet.config.k8s.io/v1
    kind: CredentialProviderConfig
    providers:
    """

@Suite("credential provider config and responses")
struct CredentialProviderConfigTests {
    @Test("a kubelet CredentialProviderConfig in YAML and in JSON")
    func parses() throws {
        let yaml = try providers("""
            \(header)
              - name: ecr-credential-provider
                matchImages: ["*.dkr.ecr.*.amazonaws.com", "*.dkr.ecr.*.amazonaws.com.cn"]
                defaultCacheDuration: "12h"
                apiVersion: credentialprovider.kubelet.k8s.io/v1
                args: [get-credentials]
                env:
                  - name: AWS_PROFILE
                    value: temp
            """)
        #expect(yaml == [CredentialProviderConfiguration.Provider(
            name: "ecr-credential-provider", matchImages: ["*.dkr.ecr.*.amazonaws.com", "*.dkr.ecr.*.amazonaws.com.cn"],
            defaultCacheDuration: .seconds(12 * 3600), apiVersion: "credentialprovider.kubelet.k8s.io/v1",
            args: ["get-credentials"], env: ["AWS_PROFILE=temp"])])
        let json = try providers(#"""
            {"apiVersion":"kubelet.config.k8s.io/v1","kind":"CredentialProviderConfig","providers":[
             {"name":"p","matchImages":["reg.io"],"defaultCacheDuration":"0s","apiVersion":"credentialprovider.kubelet.k8s.io/v1beta1"}]}
            """#)
        #expect(json.map(\.defaultCacheDuration) == [.zero])
        #expect(json.map(\.apiVersion) == ["credentialprovider.kubelet.k8s.io/v1beta1"])
    }

    @Test("strict decoding and the kubelet's validation", arguments: [
        ("  - name: p\n    matchImages: [reg.io]\n    defaultCacheDuration: 1m\n    apiVersion: credentialprovider.kubelet.k8s.io/v1\n    extra: 1",
         #"config.yaml: providers[0]: unknown field "extra""#),
        ("  - name: p\n    matchImages: [reg.io]\n    apiVersion: credentialprovider.kubelet.k8s.io/v1",
         "config.yaml: providers[0].defaultCacheDuration: Required value: defaultCacheDuration is required"),
        ("  - name: p\n    matchImages: [reg.io]\n    defaultCacheDuration: -1m\n    apiVersion: credentialprovider.kubelet.k8s.io/v1",
         #"config.yaml: providers[0].defaultCacheDuration: Invalid value: "-1m": defaultCacheDuration must be greater than or equal to 0"#),
        ("  - name: p\n    matchImages: [reg.io]\n    defaultCacheDuration: 5 minutes\n    apiVersion: credentialprovider.kubelet.k8s.io/v1",
         #"config.yaml: providers[0].defaultCacheDuration: time: invalid duration "5 minutes""#),
        ("  - name: p\n    matchImages: []\n    defaultCacheDuration: 1m\n    apiVersion: credentialprovider.kubelet.k8s.io/v1",
         "config.yaml: providers[0].matchImages: Required value: at least 1 item in matchImages is required"),
        ("  - name: a/b\n    matchImages: [reg.io]\n    defaultCacheDuration: 1m\n    apiVersion: credentialprovider.kubelet.k8s.io/v1",
         #"config.yaml: providers[0].name: Invalid value: "a/b": provider name cannot contain '/'"#),
        ("  - name: ..\n    matchImages: [reg.io]\n    defaultCacheDuration: 1m\n    apiVersion: credentialprovider.kubelet.k8s.io/v1",
         #"config.yaml: providers[0].name: Invalid value: "..": provider name cannot be '..'"#),
        ("  - name: p\n    matchImages: [reg.io]\n    defaultCacheDuration: 1m\n    apiVersion: credentialprovider.kubelet.k8s.io/v2",
         #"config.yaml: providers[0].apiVersion: Unsupported value: "credentialprovider.kubelet.k8s.io/v2": supported values: "credentialprovider.kubelet.k8s.io/v1", "credentialprovider.kubelet.k8s.io/v1beta1", "credentialprovider.kubelet.k8s.io/v1alpha1""#),
        ("  - name: p\n    matchImages: [reg.io]\n    defaultCacheDuration: 1m\n    apiVersion: credentialprovider.kubelet.k8s.io/v1\n  - name: p\n    matchImages: [reg.io]\n    defaultCacheDuration: 1m\n    apiVersion: credentialprovider.kubelet.k8s.io/v1",
         #"config.yaml: providers[1].name: Duplicate value: "p""#),
        ("  - name: p\n    matchImages: [reg.io]\n    defaultCacheDuration: 1m\n    apiVersion: credentialprovider.kubelet.k8s.io/v1\n    tokenAttributes: {serviceAccountTokenAudience: x}",
         "config.yaml: providers[0].tokenAttributes: service account tokens for plugins are not supported"),
        ("  - name: p\n    matchImages: [reg.io]\n    defaultCacheDuration: 1m\n    apiVersion: credentialprovider.kubelet.k8s.io/v1\n    args: [1]",
         "config.yaml: providers[0].args[0] must be a string"),
        ("  []", "config.yaml: providers: Required value: at least 1 item in plugins is required"),
    ])
    func invalid(body: String, message: String) {
        #expect(configError(header + "\n" + body) == message)
    }

    @Test("Go durations", arguments: [
        ("0", Duration.zero), ("0s", .zero), ("1m", .seconds(60)), ("1h30m", .seconds(5400)), ("1.5h", .seconds(5400)),
        ("300ms", .milliseconds(300)), ("2us", .microseconds(2)), ("-1m", .seconds(-60)), (".5s", .milliseconds(500)),
    ])
    func durations(text: String, duration: Duration) {
        #expect(GoDuration.parse(text) == duration)
    }

    @Test("not Go durations", arguments: ["", "1", "m", "1x", "--1m", "1m 2s", "."])
    func badDurations(text: String) {
        #expect(GoDuration.parse(text) == nil)
    }

    @Test("responses: the apiVersion must match, the rest decodes strictly with a secret-free error", arguments: [
        ("not json", "error reading GVK from response: line 1, column 2 (byte 1): invalid literal, expected 'null'"),
        (#"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1beta1","kind":"CredentialProviderResponse"}"#,
         "apiVersion from credential plugin response did not match expected apiVersion:credentialprovider.kubelet.k8s.io/v1, actual apiVersion:credentialprovider.kubelet.k8s.io/v1beta1"),
        // The version is read case-insensitively, as encoding/json does; the strict decode then refuses the name.
        (#"{"APIVERSION":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderResponse","cacheKeyType":"Image"}"#,
         "error decoding credential provider plugin response from stdout"),
        (#"{"kind":"CredentialProviderResponse"}"#,
         "apiVersion from credential plugin response did not match expected apiVersion:credentialprovider.kubelet.k8s.io/v1, actual apiVersion:"),
        (#"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest"}"#, "error decoding credential provider plugin response from stdout"),
        (#"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderResponse","cacheKeyType":"Image","auth":{"r.io":{"username":"u","password":"secret","token":"x"}}}"#,
         "error decoding credential provider plugin response from stdout"),
        (#"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderResponse","cacheKeyType":"Image","Auth":{}}"#,
         "error decoding credential provider plugin response from stdout"),
        (#"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderResponse","cacheKeyType":"Image","cacheDuration":"soon"}"#,
         "error decoding credential provider plugin response from stdout"),
    ])
    func badResponses(text: String, reason: String) {
        do {
            _ = try CredentialProviderResponse.parse(Array(text.utf8), apiVersion: "credentialprovider.kubelet.k8s.io/v1")
            Issue.record("expected an error")
        } catch {
            #expect(error.reason == reason)
            #expect(!error.reason.contains("secret"))
        }
    }

    @Test("a response is read in order")
    func goodResponse() throws {
        let response = try CredentialProviderResponse.parse(Array(#"""
            {"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderResponse",
             "cacheKeyType":"Registry","cacheDuration":"10m","auth":{"b.io":{"username":"u","password":"p"},"a.io":null}}
            """#.utf8), apiVersion: "credentialprovider.kubelet.k8s.io/v1")
        #expect(response.cacheKeyType == "Registry")
        #expect(response.cacheDuration == .seconds(600))
        #expect(response.auth.map(\.0) == ["b.io", "a.io"])
        #expect(response.auth.map(\.1) == [RegistryCredential(username: "u", password: "p"), RegistryCredential(username: "", password: "")])
    }

    @Test("a directory of configs: lexicographic order, other files ignored, duplicate names refused, binaries checked")
    func directory() throws {
        let directory = try TemporaryDirectory("cred-config")
        let bin = try TemporaryDirectory("cred-bin")
        func provider(_ name: String) -> String {
            "\(header)\n  - name: \(name)\n    matchImages: [reg.io]\n    defaultCacheDuration: 1m\n    apiVersion: credentialprovider.kubelet.k8s.io/v1\n"
        }
        try directory.write("b.yaml", provider("second"))
        try directory.write("a.json", provider("first"))
        try directory.write("c.txt", "not a config")
        for name in ["first", "second"] {
            let path = try bin.write(name, "#!/bin/sh\n")
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        }
        let loaded = try CredentialProviderConfiguration.load(configPath: directory.path, binDir: bin.path)
        #expect(loaded.providers.map(\.name) == ["first", "second"])

        try directory.write("d.yml", provider("first"))
        #expect(throws: RegistryCredentialsError(source: directory.file("d.yml"), reason: #"duplicate provider name "first" (first in \#(directory.file("a.json")))"#)) {
            try CredentialProviderConfiguration.load(configPath: directory.path, binDir: bin.path)
        }
        let single = try directory.write("solo/config.yaml", provider("missing"))
        #expect(throws: RegistryCredentialsError(source: single, reason: "plugin binary executable \(bin.path)/missing did not exist")) {
            try CredentialProviderConfiguration.load(configPath: single, binDir: bin.path)
        }
        let empty = try TemporaryDirectory("cred-empty")
        #expect(throws: RegistryCredentialsError(source: empty.path, reason: "no configuration files found in directory")) {
            try CredentialProviderConfiguration.load(configPath: empty.path, binDir: bin.path)
        }
    }
}

/// Real plugin executables (sh scripts) speaking the kubelet's protocol, against the fixture.
@Suite("credential provider plugins against the fixture", .serialized)
struct CredentialProviderPluginTests {
    static let version = "credentialprovider.kubelet.k8s.io/v1"

    /// A bin dir with `name`, a script that logs its stdin and prints `response`.
    static func plugin(_ name: String, in bin: TemporaryDirectory, response: String, before: String = "") throws {
        let script = """
            #!/bin/sh
            cat > "\(bin.path)/\(name).request"
            echo run >> "\(bin.path)/\(name).runs"
            \(before)
            cat <<'EOF'
            \(response)
            EOF
            """
        let path = try bin.write(name, script)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
    }

    static func runs(_ name: String, in bin: TemporaryDirectory) -> Int {
        ((try? String(contentsOfFile: "\(bin.path)/\(name).runs", encoding: .utf8)) ?? "").split(separator: "\n").count
    }

    static func response(auth: String, cacheKeyType: String = "Image", cacheDuration: String? = nil) -> String {
        let duration = cacheDuration.map { #","cacheDuration":"\#($0)""# } ?? ""
        return #"{"apiVersion":"\#(version)","kind":"CredentialProviderResponse","cacheKeyType":"\#(cacheKeyType)"\#(duration),"auth":\#(auth)}"#
    }

    static func resolver(_ fixture: RegistryFixture, bin: TemporaryDirectory, providers: [CredentialProviderConfiguration.Provider], timeout: Duration = .seconds(30)) throws -> RegistryLookup {
        try RegistryLookupFixtureTests.resolver(fixture) {
            $0.credentialProviders = CredentialProviderConfiguration(providers: providers, binDir: bin.path)
            $0.timeout = timeout
        }
    }

    static func provider(_ name: String, match: [String], defaultCacheDuration: Duration = .zero, args: [String] = [], env: [String] = []) -> CredentialProviderConfiguration.Provider {
        .init(name: name, matchImages: match, defaultCacheDuration: defaultCacheDuration, apiVersion: version, args: args, env: env)
    }

    @Test func pluginCredentialsOpenTheBasicAuthRegistry() async throws {
        guard let fixture = RegistryFixture.required() else { return }
        let bin = try TemporaryDirectory("cred-plugin")
        // The password comes from the config's env, so the test also shows env reaches the plugin.
        try Self.plugin("fixture-creds", in: bin, response: Self.response(auth: #"{"\#(fixture.basic)":{"username":"testuser","password":"PASSWORD"}}"#),
                        before: "")
        let script = try String(contentsOfFile: bin.file("fixture-creds"), encoding: .utf8)
            .replacingOccurrences(of: "cat <<'EOF'", with: "cat <<EOF").replacingOccurrences(of: "\"PASSWORD\"", with: "\"$REGFIX_PLUGIN_PASSWORD\"")
        try bin.write("fixture-creds", script)
        let resolver = try Self.resolver(fixture, bin: bin, providers: [
            Self.provider("fixture-creds", match: [fixture.basic], args: ["--flag", "two words"], env: ["REGFIX_PLUGIN_PASSWORD=testpassword"]),
        ])
        let lookup = await resolver.lookup("\(fixture.basic)/oci/users:user-app-app", deadline: RegistryLookupFixtureTests.soon)
        #expect(lookup == .found([ImageUserVariant(user: .name("app"))]))
        #expect(try String(contentsOfFile: bin.file("fixture-creds.request"), encoding: .utf8)
            == #"{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"\#(fixture.basic)/oci/users"}"# + "\n")
        // A registry the plugin does not match is not asked about, and stays anonymous.
        #expect(Self.users(await resolver.resolve("\(fixture.token)/oci/users:user-0", deadline: RegistryLookupFixtureTests.soon)) == ["linux/amd64=0"])
        #expect(Self.runs("fixture-creds", in: bin) == 1)
        await resolver.shutdown()
    }

    static func users(_ result: Result<ResolvedImage, RegistryError>) -> [String] { RegistryLookupFixtureTests.users(result) }

    @Test func cacheKeyTypesAndDurations() async throws {
        guard let fixture = RegistryFixture.required() else { return }
        let bin = try TemporaryDirectory("cred-cache")
        let auth = #"{"\#(fixture.basic)":{"username":"testuser","password":"testpassword"}}"#
        try Self.plugin("registry-10m", in: bin, response: Self.response(auth: auth, cacheKeyType: "Registry", cacheDuration: "10m"))
        try Self.plugin("image-default", in: bin, response: Self.response(auth: auth, cacheKeyType: "Image"))
        try Self.plugin("global-0s", in: bin, response: Self.response(auth: auth, cacheKeyType: "Global", cacheDuration: "0s"))
        let resolver = try Self.resolver(fixture, bin: bin, providers: [
            Self.provider("registry-10m", match: [fixture.basic]),
            Self.provider("image-default", match: [fixture.basic], defaultCacheDuration: .seconds(600)),
            Self.provider("global-0s", match: [fixture.basic], defaultCacheDuration: .seconds(600)),
        ])
        for image in ["oci/users:user-0", "oci/users:user-1000", "v2s2/users:user-0"] {
            #expect(Self.users(await resolver.resolve("\(fixture.basic)/\(image)", deadline: RegistryLookupFixtureTests.soon)).first?.hasPrefix("linux/amd64=") == true)
        }
        // Registry key: once for the registry. Image key (default 10m): once per repository.
        // cacheDuration 0s: never cached, though the default says 10m.
        #expect(Self.runs("registry-10m", in: bin) == 1)
        #expect(Self.runs("image-default", in: bin) == 2)
        #expect(Self.runs("global-0s", in: bin) == 3)
        // Every matching provider's credentials are candidates, in config order (three here).
        #expect(resolver.cachedCandidates(for: "\(fixture.basic)/oci/users", pullSecrets: nil)?.fingerprint == nil)
        let candidates = await resolver.candidates(for: "\(fixture.basic)/oci/users", pullSecrets: nil, deadline: RegistryLookupFixtureTests.soon)
        #expect(candidates.candidates.count == 3)
        await resolver.shutdown()
    }

    @Test("a failing plugin adds no credentials; the registry's refusal of the rest names it", arguments: [
        ("bad-json", "echo 'not json'; exit 0", "error reading GVK from response: line 1, column 2 (byte 1): invalid literal, expected 'null'"),
        ("old-version", #"echo '{"apiVersion":"credentialprovider.kubelet.k8s.io/v1alpha1","kind":"CredentialProviderResponse"}'; exit 0"#,
         "apiVersion from credential plugin response did not match expected apiVersion:credentialprovider.kubelet.k8s.io/v1, actual apiVersion:credentialprovider.kubelet.k8s.io/v1alpha1"),
        ("exits-1", "exit 1", "error execing credential provider plugin exits-1 for image IMAGE: exit status 1"),
        ("bad-key-type", #"echo '{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderResponse","cacheKeyType":"Pod"}'; exit 0"#,
         #"credential provider plugin did not return a valid cacheKeyType: "Pod""#),
        ("huge", "head -c 2000000 /dev/zero | tr '\\0' 'x'; exit 0", "error execing credential provider plugin huge for image IMAGE: the response on stdout is larger than 1 MiB"),
    ])
    func failures(name: String, body: String, reason: String) async throws {
        guard let fixture = RegistryFixture.required() else { return }
        let bin = try TemporaryDirectory("cred-fail")
        try Self.plugin(name, in: bin, response: "", before: body)
        let resolver = try Self.resolver(fixture, bin: bin, providers: [Self.provider(name, match: [fixture.basic])])
        let lookup = await resolver.lookup("\(fixture.basic)/oci/users:user-0", deadline: RegistryLookupFixtureTests.soon)
        let expected = reason.replacingOccurrences(of: "IMAGE", with: "\(fixture.basic)/oci/users")
        // Anonymous access was tried, as the kubelet pulls without credentials when a plugin fails.
        #expect(lookup == .unresolved(reason: "credential provider plugin \(name) failed: \(expected); without its credentials: "
            + "registry \(fixture.basic) refused access: the registry requires credentials and none were found for \(fixture.basic)"))
        await resolver.shutdown()
    }

    /// The kubelet's keyring goes on without a failed plugin: the pod's pull secrets, the node's
    /// config, or anonymous access still open the image.
    @Test(arguments: ["pull secret", "node", "anonymous", "two plugins"])
    func aFailingPluginDoesNotHideOtherCredentials(source: String) async throws {
        guard let fixture = RegistryFixture.required() else { return }
        let bin = try TemporaryDirectory("cred-fallback")
        try Self.plugin("exits-1", in: bin, response: "", before: "exit 1")
        try Self.plugin("works", in: bin, response: Self.response(auth: #"{"\#(fixture.basic)":{"username":"testuser","password":"testpassword"}}"#))
        let host = source == "anonymous" ? fixture.token : fixture.basic
        let secret = CredentialCandidateFixtureTests.secret(host, password: "testpassword")
        let providers = [Self.provider("exits-1", match: [host])] + (source == "two plugins" ? [Self.provider("works", match: [host])] : [])
        let resolver = try RegistryLookupFixtureTests.resolver(fixture) {
            $0.credentialProviders = CredentialProviderConfiguration(providers: providers, binDir: bin.path)
            if source == "node" { $0.credentials = secret }
        }
        let lookup = await resolver.lookup("\(host)/oci/users:user-1000", pullSecrets: source == "pull secret" ? secret : nil, deadline: RegistryLookupFixtureTests.soon)
        #expect(lookup == .found([ImageUserVariant(user: .uid(1000))]))
        #expect(Self.runs("exits-1", in: bin) == 1)
        await resolver.shutdown()
    }

    @Test func otherCredentialsRefusedAfterAPluginFailed() async throws {
        guard let fixture = RegistryFixture.required() else { return }
        let bin = try TemporaryDirectory("cred-refused")
        try Self.plugin("exits-3", in: bin, response: "", before: "echo 'password=hunter2' >&2; exit 3")
        let resolver = try RegistryLookupFixtureTests.resolver(fixture) {
            $0.credentialProviders = CredentialProviderConfiguration(providers: [Self.provider("exits-3", match: [fixture.basic])], binDir: bin.path)
            $0.credentials = CredentialCandidateFixtureTests.secret(fixture.basic, password: "wrong")
        }
        let lookup = await resolver.lookup("\(fixture.basic)/oci/users:user-0", pullSecrets: CredentialCandidateFixtureTests.secret(fixture.basic, password: "wrong-too"), deadline: RegistryLookupFixtureTests.soon)
        #expect(lookup == .unresolved(reason: "credential provider plugin exits-3 failed: error execing credential provider plugin exits-3 for image \(fixture.basic)/oci/users: exit status 3; "
            + "without its credentials: every credential was refused (2 tried, from a pull secret, --registry-auth-file); the last: registry \(fixture.basic) refused access: UNAUTHORIZED: authentication required"))
        await resolver.shutdown()
    }

    @Test func aHungPluginIsKilledAtTheDeadline() async throws {
        guard let fixture = RegistryFixture.required() else { return }
        let bin = try TemporaryDirectory("cred-hang")
        try Self.plugin("hangs", in: bin, response: "", before: "sleep 30")
        let resolver = try Self.resolver(fixture, bin: bin, providers: [Self.provider("hangs", match: [fixture.basic])], timeout: .milliseconds(1500))
        let started = ContinuousClock.now
        let lookup = await resolver.lookup("\(fixture.basic)/oci/users:user-0", deadline: .now + .seconds(30))
        let elapsed = ContinuousClock.now - started
        #expect(lookup == .unresolved(reason: "credential provider plugin hangs failed: error execing credential provider plugin hangs for image \(fixture.basic)/oci/users: context deadline exceeded; "
            + "without its credentials: registry \(fixture.basic) refused access: the registry requires credentials and none were found for \(fixture.basic)"))
        #expect(elapsed < .seconds(5), "took \(elapsed)")
        await resolver.shutdown()
    }
}

/// Candidates tried in turn against the fixture's basic-auth and token registries, and caches kept apart.
@Suite("credential candidates against the fixture", .serialized)
struct CredentialCandidateFixtureTests {
    static func secret(_ host: String, password: String) -> DockerKeyring {
        try! DockerKeyring.parse(Array(#"{"auths":{"\#(host)":{"username":"testuser","password":"\#(password)"}}}"#.utf8), source: "secret")
    }

    @Test(arguments: ["basic", "token"])
    func aWrongCandidateThenARightOne(kind: String) async throws {
        guard let fixture = RegistryFixture.required() else { return }
        let host = kind == "basic" ? fixture.basic : fixture.token
        // The pod's secret is wrong and more specific; the node's file is right: both are tried.
        let resolver = try RegistryLookupFixtureTests.resolver(fixture) { $0.credentials = Self.secret(host, password: "testpassword") }
        var pod = Self.secret(host + "/private", password: "wrong")
        pod.add(contentsOf: Self.secret(host + "/oci", password: "wrong"))
        let image = kind == "basic" ? "\(host)/oci/users:user-app-app" : "\(host)/private/users:user-1000"
        let lookup = await resolver.lookup(image, pullSecrets: pod, deadline: RegistryLookupFixtureTests.soon)
        #expect(lookup == .found([ImageUserVariant(user: kind == "basic" ? .name("app") : .uid(1000))]))
        await resolver.shutdown()
    }

    /// The server decides offline with no pull secrets: an answer fetched with the node's credentials
    /// (--registry-auth-file) is reused there, and one fetched with only a pod's secret is not.
    @Test func knownOfflineReusesAnswersForTheNodesCredentials() async throws {
        guard let fixture = RegistryFixture.required() else { return }
        let node = try RegistryLookupFixtureTests.resolver(fixture) { $0.credentials = Self.secret(fixture.basic, password: "testpassword") }
        let image = "\(fixture.basic)/oci/users:user-1000"
        let images = ImageLookup(catalog: ImageCatalog(), registry: node)
        #expect(images.knownOffline(image) == nil)
        #expect(await node.lookup(image, deadline: RegistryLookupFixtureTests.soon) == .found([ImageUserVariant(user: .uid(1000))]))
        #expect(images.knownOffline(image) == .found([ImageUserVariant(user: .uid(1000))]))
        await node.shutdown()

        let podOnly = try RegistryLookupFixtureTests.resolver(fixture)
        let secret = Self.secret(fixture.basic, password: "testpassword")
        #expect(await podOnly.lookup(image, pullSecrets: secret, deadline: RegistryLookupFixtureTests.soon) == .found([ImageUserVariant(user: .uid(1000))]))
        let offline = ImageLookup(catalog: ImageCatalog(), registry: podOnly)
        #expect(offline.knownOffline(image) == nil)
        #expect(offline.knownOffline(image, pullSecrets: secret) == .found([ImageUserVariant(user: .uid(1000))]))
        await podOnly.shutdown()
    }

    @Test func everyCandidateRefused() async throws {
        guard let fixture = RegistryFixture.required() else { return }
        let resolver = try RegistryLookupFixtureTests.resolver(fixture) { $0.credentials = Self.secret(fixture.basic, password: "wrong-too") }
        let lookup = await resolver.lookup("\(fixture.basic)/oci/users:user-0", pullSecrets: Self.secret(fixture.basic, password: "wrong"), deadline: RegistryLookupFixtureTests.soon)
        #expect(lookup == .unresolved(reason: "every credential was refused (2 tried, from a pull secret, --registry-auth-file); the last: registry \(fixture.basic) refused access: UNAUTHORIZED: authentication required"))
        await resolver.shutdown()
    }

    @Test func noCandidatesIsAnonymous() async throws {
        guard let fixture = RegistryFixture.required() else { return }
        let resolver = try RegistryLookupFixtureTests.resolver(fixture)
        #expect(await resolver.lookup("\(fixture.basic)/oci/users:user-0", deadline: RegistryLookupFixtureTests.soon)
            == .unresolved(reason: "registry \(fixture.basic) refused access: the registry requires credentials and none were found for \(fixture.basic)"))
        #expect(await resolver.lookup("\(fixture.token)/private/users:user-1000", deadline: RegistryLookupFixtureTests.soon)
            == .unresolved(reason: "registry \(fixture.token) refused access: UNAUTHORIZED: authentication required (anonymous; no credentials for \(fixture.token))"))
        await resolver.shutdown()
    }

    /// An answer fetched with one pod's secret is never the answer for a pod without it, or with a
    /// wrong one; and the token fetched with it is not reused for them either.
    @Test(arguments: ["basic", "token"])
    func cachesAreKeptApartByCredentials(kind: String) async throws {
        guard let fixture = RegistryFixture.required() else { return }
        let host = kind == "basic" ? fixture.basic : fixture.token
        let image = "\(host)/private/users:user-1000"
        let resolver = try RegistryLookupFixtureTests.resolver(fixture)
        let right = Self.secret(host, password: "testpassword")
        #expect(await resolver.lookup(image, pullSecrets: right, deadline: RegistryLookupFixtureTests.soon) == .found([ImageUserVariant(user: .uid(1000))]))
        #expect(resolver.cachedAnswer(for: image, pullSecrets: right) == .found([ImageUserVariant(user: .uid(1000))]))
        #expect(resolver.cachedAnswer(for: image) == nil)
        #expect(resolver.cachedAnswer(for: image, pullSecrets: Self.secret(host, password: "wrong")) == nil)
        guard case .unresolved = await resolver.lookup(image, deadline: RegistryLookupFixtureTests.soon) else {
            Issue.record("an anonymous lookup was served the credentialed answer")
            return
        }
        guard case .unresolved = await resolver.lookup(image, pullSecrets: Self.secret(host, password: "wrong"), deadline: RegistryLookupFixtureTests.soon) else {
            Issue.record("a lookup with a wrong secret was served the credentialed answer")
            return
        }
        // By digest too: the manifest cache is keyed by credentials as well.
        guard case .success(let resolved) = await resolver.resolve(image, pullSecrets: right, deadline: RegistryLookupFixtureTests.soon) else {
            Issue.record("expected a resolved image")
            return
        }
        let pinned = "\(host)/private/users@\(resolved.digest)"
        guard case .failure = await resolver.resolve(pinned, deadline: RegistryLookupFixtureTests.soon) else {
            Issue.record("an anonymous lookup by digest was served the credentialed manifest")
            return
        }
        await resolver.shutdown()
    }
}
