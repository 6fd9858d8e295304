import Testing
@testable import ImageRegistry

private func parse(_ text: String, _ format: DockerKeyring.ConfigFormat = .automatic) throws(RegistryCredentialsError) -> DockerKeyring {
    try DockerKeyring.parse(Array(text.utf8), format: format, source: "config.json")
}

private func parseError(_ text: String, _ format: DockerKeyring.ConfigFormat = .automatic) -> String? {
    do {
        let keyring = try parse(text, format)
        Issue.record("expected an error, got \(keyring.count) credentials")
        return nil
    } catch {
        return error.description
    }
}

private func user(_ name: String) -> RegistryCredential { RegistryCredential(username: name, password: "pw-" + name) }

/// A keyring with one credential per key, named after the key.
private func keyring(_ keys: [String]) -> DockerKeyring {
    var keyring = DockerKeyring()
    for key in keys { keyring.add(key, user(key)) }
    return keyring
}

private let testuser = RegistryCredential(username: "testuser", password: "testpassword")

@Suite("DockerKeyring: the kubelet's BasicDockerKeyring")
struct DockerKeyringTests {
    // MARK: Parsing

    @Test("auth = base64(user:pass), padded or not, overrides username and password")
    func authField() throws {
        let keyring = try parse(#"""
            {"auths":{
              "a.example":{"auth":"dGVzdHVzZXI6dGVzdHBhc3N3b3Jk","username":"other","password":"other"},
              "b.example":{"auth":"","username":"octocat","password":"pw"},
              "c.example":{"auth":"dXNlcjpwYXNz"},
              "d.example":{"auth":"dTpw"},
              "e.example":{"auth":"dTpwMQ"},
              "f.example":{"auth":"dTpwMQ=="}}}
            """#)
        #expect(keyring.lookup("a.example/x") == [testuser])
        #expect(keyring.lookup("b.example/x") == [RegistryCredential(username: "octocat", password: "pw")])
        #expect(keyring.lookup("c.example/x") == [RegistryCredential(username: "user", password: "pass")])
        #expect(keyring.lookup("d.example/x") == [RegistryCredential(username: "u", password: "p")])
        #expect(keyring.lookup("e.example/x") == [RegistryCredential(username: "u", password: "p1")])
        #expect(keyring.lookup("f.example/x") == [RegistryCredential(username: "u", password: "p1")])
    }

    @Test("the password is everything after the first colon")
    func passwordWithColons() throws {
        let keyring = try parse(#"{"auths":{"ghcr.io":{"auth":"cm9ib3QkYWNtZTpzM2NyOmV0"}}}"#)
        #expect(keyring.lookup("ghcr.io/acme/api") == [RegistryCredential(username: "robot$acme", password: "s3cr:et")])
    }

    @Test("struct member names match case-insensitively, the last one winning; registry keys do not fold")
    func caseInsensitiveNames() throws {
        let keyring = try parse(#"""
            {"AUTHS":{"Reg.Example":{"USERNAME":"a","Password":"b","username":"c"},
                      "x.example":{"AuTh":"dTpw"},
                      "s.example":{"u\u017Fername":"longs","pa\u017F\u017Fword":"p"}}}
            """#)
        #expect(keyring.lookup("Reg.Example/x") == [RegistryCredential(username: "c", password: "b")])
        #expect(keyring.lookup("reg.example/x") == [])
        #expect(keyring.lookup("x.example/x") == [RegistryCredential(username: "u", password: "p")])
        #expect(keyring.lookup("s.example/x") == [RegistryCredential(username: "longs", password: "p")])
    }

    @Test("the kubelet's auth errors: Go's base64 offsets, then its own text", arguments: [
        ("not base64!", "config.json: illegal base64 data at input byte 3"),
        ("bm9jb2xvbg==", "config.json: unable to parse auth field, must be formatted as base64(username:password)"),
        ("/w==", "config.json: unable to parse auth field, must be formatted as base64(username:password)"),
        ("dTpw=", "config.json: illegal base64 data at input byte 4"),
        ("dQ", "config.json: unable to parse auth field, must be formatted as base64(username:password)"),
        ("d", "config.json: illegal base64 data at input byte 0"),
        ("dTpwMQ=", "config.json: illegal base64 data at input byte 7"),
        ("dTpw=x==", "config.json: illegal base64 data at input byte 4"),
    ])
    func badAuth(auth: String, message: String) {
        #expect(parseError(#"{"auths":{"https://ghcr.io/":{"auth":"\#(auth)"}}}"#) == message)
    }

    @Test("the legacy .dockercfg form is the map itself")
    func legacyDockercfg() throws {
        let keyring = try parse(#"""
            {"https://index.docker.io/v1/":{"auth":"dGVzdHVzZXI6dGVzdHBhc3N3b3Jk","email":"dev@example.com"},
             "quay.io":{"username":"robot","password":"pw","email":"dev@example.com"}}
            """#, .dockercfg)
        #expect(keyring.index == ["quay.io", "index.docker.io"])
        #expect(keyring.lookup("docker.io/library/nginx") == [testuser])
        #expect(keyring.lookup("quay.io/x/y") == [RegistryCredential(username: "robot", password: "pw")])
        // As a .dockerconfigjson the same text has no auths: nothing.
        #expect(try parse(#"{"quay.io":{"username":"robot","password":"pw"}}"#, .dockerConfigJSON).isEmpty)
    }

    @Test("entries without credentials stay, as anonymous candidates (identitytoken is not read)")
    func emptyEntries() throws {
        let keyring = try parse(#"{"auths":{"acr.example":{"identitytoken":"eyJhbGciOi"},"n.example":null}}"#)
        #expect(keyring.lookup("acr.example/x") == [RegistryCredential(username: "", password: "")])
        #expect(keyring.lookup("n.example/x") == [RegistryCredential(username: "", password: "")])
        #expect(keyring.lookup("acr.example/x").allSatisfy { $0.isAnonymous })
    }

    @Test("documents that are not docker configs", arguments: [
        ("[]", #"config.json: expected a JSON object with an "auths" key"#),
        (#"{"auths":[]}"#, #"config.json: "auths" must be an object"#),
        (#"{"auths":{"r.io":"dGVzdA=="}}"#, "config.json: the entry for r.io must be an object, not a string"),
        (#"{"auths":{"r.io":{"username":5}}}"#, #"config.json: the "username" of r.io must be a string, not a number"#),
        ("", "config.json: not valid JSON: line 1, column 1 (byte 0): unexpected end of text, expected a value"),
    ])
    func notAConfig(text: String, message: String) {
        #expect(parseError(text) == message)
    }

    @Test("an empty or null auths holds nothing")
    func empty() throws {
        #expect(try parse(#"{"auths":{}}"#).isEmpty)
        #expect(try parse(#"{"auths":null}"#).isEmpty)
        #expect(DockerKeyring().lookup("docker.io/library/nginx") == [])
    }

    @Test("credentials never show in descriptions or reflection")
    func redaction() {
        let credential = RegistryCredential(username: "testuser", password: "hunter2-secret")
        #expect("\(credential)" == "testuser:<redacted>")
        #expect(!String(reflecting: credential).contains("hunter2-secret"))
        var ring = DockerKeyring()
        ring.add("r.io", credential)
        #expect(!String(describing: ring).contains("hunter2-secret"))
        #expect(!String(reflecting: ring).contains("hunter2-secret"))
        #expect(credential.header == "Basic dGVzdHVzZXI6aHVudGVyMi1zZWNyZXQ=")
    }

    // MARK: Keys

    @Test("key normalisation: https:// added, /v1/ and /v2/ dropped, port and case kept", arguments: [
        ("https://index.docker.io/v1/", "index.docker.io"),
        ("index.docker.io", "index.docker.io"),
        ("reg.io/v2/foo", "reg.io/foo"),
        ("reg.io/v1/", "reg.io"),
        ("http://host:5000/v2/", "host:5000"),
        ("Registry.Example:443/Team", "Registry.Example:443/Team"),
        ("quay.io/acme/api/", "quay.io/acme/api/"),
        ("reg.io/", "reg.io"),
        ("[::1]:5000", "[::1]:5000"),
        ("*.gcr.io", "*.gcr.io"),
        ("reg.io?x=1", "reg.io"),
        // Not a recognised scheme: https:// is added, the host is "HTTPS:" and the path "//reg.io".
        ("HTTPS://reg.io", "HTTPS://reg.io"),
    ])
    func normalize(key: String, normalized: String) {
        #expect(DockerKeyring.normalize(key) == normalized)
    }

    @Test("keys Go's url.Parse refuses are ignored", arguments: ["reg.io:port", "reg io", "reg.io/%zz", "[::1", "reg\u{7}.io"])
    func refusedKeys(key: String) {
        #expect(DockerKeyring.normalize(key) == nil)
        #expect(keyring([key]).isEmpty)
    }

    @Test("the index is de-duplicated and reverse-lexicographic; the same key keeps insertion order")
    func indexOrder() {
        var ring = keyring(["quay.io", "*.x.io", "quay.io/coreos", "a.x.io", "https://quay.io/v2/"])
        #expect(ring.index == ["quay.io/coreos", "quay.io", "a.x.io", "*.x.io"])
        ring.add("quay.io", user("second"))
        #expect(ring.lookup("quay.io/other").map(\.username) == ["quay.io", "https://quay.io/v2/", "second"])
    }

    // MARK: Matching

    @Test("URLsMatch", arguments: [
        // ports must be equal
        ("reg.io", "reg.io/x", true), ("reg.io", "reg.io:5000/x", false), ("reg.io:5000", "reg.io/x", false), ("reg.io:5000", "reg.io:5000/x", true),
        // same number of labels
        ("*.docker.io", "docker.io/x", false), ("*.io", "a.b.io/x", false), ("*.b.io", "a.b.io/x", true), ("*.*.io", "a.b.io/x", true),
        // path: a plain string prefix
        ("reg.io/foo", "reg.io/foobar/x", true), ("reg.io/foo", "reg.io/fo", false), ("reg.io/foo/", "reg.io/foo", false),
        // labels: filepath.Match, case-sensitive
        // `?` starts a query in url.Parse and `\` is not a host character: neither can match a host.
        ("r?g.io", "reg.io/x", false), ("r\\eg.io", "reg.io/x", false), ("r[a-f]g.io", "reg.io/x", true), ("r[^e]g.io", "reg.io/x", false), ("r[!e]g.io", "r!g.io/x", true),
        ("Reg.io", "reg.io/x", false), ("r*.io", "registry.io/x", true), ("*", "localhost/x", true), ("r[.io", "r[.io/x", false),
        ("r[e-]g.io", "reg.io/x", false), ("*e*", "reg/x", true),
        // IPv6 and ports
        ("[::1]:5000", "[::1]:5000/x", true), ("[::1]:5000", "[::1]:5001/x", false),
    ])
    func urlsMatch(glob: String, target: String, matches: Bool) {
        #expect(KeyringMatching.urlsMatch(glob: glob, target: target) == matches)
    }

    @Test("filepath.Match details", arguments: [
        ("a*b", "axxb", true), ("a*b", "axxbc", false), ("*c", "abc", true), ("a?c", "a/c", false), ("a*", "a/b", false),
        ("[a-c]x", "bx", true), ("[\\]]", "]", true), ("[]", "x", false), ("\\", "\\", false), ("[a-", "a", false), ("ab[", "ab", false),
        ("*a*b*", "xaybz", true), ("", "", true), ("", "a", false),
    ])
    func glob(pattern: String, name: String, matches: Bool) {
        #expect(KeyringMatching.globMatch(pattern, name) == matches)
    }

    @Test("lookup returns every matching key's credentials, most specific first")
    func everyMatch() {
        let ring = keyring(["quay.io", "quay.io/coreos", "*.quay.io", "quay.io/coreos/etcd", "other.io"])
        #expect(ring.lookup("quay.io/coreos/etcd").map(\.username) == ["quay.io/coreos/etcd", "quay.io/coreos", "quay.io"])
        #expect(ring.lookup("quay.io/acme/x").map(\.username) == ["quay.io"])
        #expect(ring.lookup("eu.quay.io/acme/x").map(\.username) == ["*.quay.io"])
    }

    @Test("index.docker.io only as the Docker Hub fallback; registry-1.docker.io never")
    func dockerHubFallback() {
        let hub = keyring(["https://index.docker.io/v1/", "registry-1.docker.io"])
        #expect(hub.lookup("docker.io/library/nginx").map(\.username) == ["https://index.docker.io/v1/"])
        #expect(hub.lookup("docker.io/acme/api").map(\.username) == ["https://index.docker.io/v1/"])
        #expect(hub.lookup("ghcr.io/acme/api") == [])
        #expect(hub.lookup("localhost:5000/x") == [])
        // A direct docker.io match wins; the fallback is not added to it.
        let both = keyring(["docker.io", "index.docker.io"])
        #expect(both.lookup("docker.io/library/nginx").map(\.username) == ["docker.io"])
        #expect(DockerKeyring.isDefaultRegistryMatch("docker.io/library/nginx"))
        #expect(DockerKeyring.isDefaultRegistryMatch("library/nginx"))
        #expect(DockerKeyring.isDefaultRegistryMatch("nginx"))
        #expect(!DockerKeyring.isDefaultRegistryMatch("localhost:5000/x"))
        #expect(!DockerKeyring.isDefaultRegistryMatch("ghcr.io/x"))
        #expect(!DockerKeyring.isDefaultRegistryMatch("/x"))
    }

    @Test("merging pull secrets keeps one sorted index and the fallback across them")
    func merge() {
        var pod = keyring(["quay.io"])
        pod.add(contentsOf: keyring(["quay.io/coreos", "index.docker.io"]))
        #expect(pod.index == ["quay.io/coreos", "quay.io", "index.docker.io"])
        #expect(pod.lookup("quay.io/coreos/etcd").map(\.username) == ["quay.io/coreos", "quay.io"])
        #expect(pod.lookup("docker.io/library/nginx").map(\.username) == ["index.docker.io"])
    }

    @Test("the candidate order: pull secrets, then the node's config, then plugins; fingerprints hide secrets")
    func candidateOrder() {
        let candidates = CredentialCandidates.from(
            pullSecrets: keyring(["reg.io"]), node: keyring(["reg.io/team"]), plugins: keyring(["*.io"]), repository: "reg.io/team/app")
        #expect(candidates.candidates.map(\.source) == ["a pull secret", "--registry-auth-file", "a credential provider plugin"])
        #expect(candidates.candidates.map(\.credential.username) == ["reg.io", "reg.io/team", "*.io"])
        #expect(candidates.fingerprint.count == 32)
        #expect(!candidates.fingerprint.contains("pw-"))
        #expect(CredentialCandidates.from(pullSecrets: nil, node: DockerKeyring(), plugins: nil, repository: "reg.io/x").fingerprint == "")
        let other = CredentialCandidates.from(pullSecrets: keyring(["reg.io/team"]), node: DockerKeyring(), plugins: nil, repository: "reg.io/team/app")
        #expect(other.fingerprint != candidates.fingerprint)
    }
}
