import Testing
@testable import ImageRegistry

private func parse(_ text: String) throws(RegistryCredentialsError) -> RegistryCredentials {
    try RegistryCredentials.parse(Array(text.utf8), source: "config.json")
}

/// Parses, expecting an error, and returns its description.
private func parseError(_ text: String) -> String? {
    do {
        let credentials = try parse(text)
        Issue.record("expected an error, got \(credentials.count) credentials")
        return nil
    } catch {
        return error.description
    }
}

private let testuser = RegistryCredentials.Basic(username: "testuser", password: "testpassword")

@Suite("RegistryCredentials")
struct CredentialsTests {
    @Test("auths with auth = base64(user:password)")
    func authField() throws {
        let credentials = try parse(#"{"auths":{"127.0.0.1:5104":{"auth":"dGVzdHVzZXI6dGVzdHBhc3N3b3Jk"}}}"#)
        #expect(credentials.count == 1)
        #expect(credentials.credentials(for: "127.0.0.1:5104") == testuser)
        #expect(credentials.credentials(for: "127.0.0.1:5105") == nil)
        #expect(credentials.credentials(for: "127.0.0.1") == nil)
    }

    @Test("the password is everything after the first colon")
    func passwordWithColons() throws {
        // base64("robot$acme:s3cr:et")
        let credentials = try parse(#"{"auths":{"ghcr.io":{"auth":"cm9ib3QkYWNtZTpzM2NyOmV0"}}}"#)
        #expect(credentials.credentials(for: "ghcr.io") == RegistryCredentials.Basic(username: "robot$acme", password: "s3cr:et"))
    }

    @Test("auths with username and password")
    func usernameAndPassword() throws {
        let credentials = try parse(#"{"auths":{"ghcr.io":{"username":"octocat","password":"ghp_token"}}}"#)
        #expect(credentials.credentials(for: "ghcr.io") == RegistryCredentials.Basic(username: "octocat", password: "ghp_token"))
    }

    @Test("auth wins over username and password; an empty auth falls back to them")
    func authPrecedence() throws {
        let credentials = try parse(#"""
            {"auths":{
              "a.example":{"auth":"dGVzdHVzZXI6dGVzdHBhc3N3b3Jk","username":"other","password":"other"},
              "b.example":{"auth":"","username":"octocat","password":"pw"}}}
            """#)
        #expect(credentials.credentials(for: "a.example") == testuser)
        #expect(credentials.credentials(for: "b.example") == RegistryCredentials.Basic(username: "octocat", password: "pw"))
    }

    @Test("keys are reduced to host[:port], lowercased", arguments: [
        ("https://index.docker.io/v1/", "index.docker.io"),
        ("ghcr.io", "ghcr.io"),
        ("ghcr.io/", "ghcr.io"),
        ("http://host:5000/v2/", "host:5000"),
        ("HTTPS://Registry.Example:443/v2/", "registry.example:443"),
        ("quay.io/acme/api", "quay.io"),
        ("[::1]:5000", "[::1]:5000"),
    ])
    func keyForms(key: String, host: String) throws {
        #expect(RegistryCredentials.normalizeHost(key) == host)
        let credentials = try parse(#"{"auths":{"\#(key)":{"auth":"dGVzdHVzZXI6dGVzdHBhc3N3b3Jk"}}}"#)
        #expect(credentials.credentials(for: host) == testuser)
    }

    @Test("docker.io finds a key under any Docker Hub alias", arguments: [
        "https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io", "https://registry.hub.docker.com",
    ])
    func dockerHubAliases(key: String) throws {
        let credentials = try parse(#"{"auths":{"\#(key)":{"auth":"dGVzdHVzZXI6dGVzdHBhc3N3b3Jk"}}}"#)
        for registry in ["docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"] {
            #expect(credentials.credentials(for: registry) == testuser, "\(registry)")
        }
        #expect(credentials.credentials(for: "ghcr.io") == nil)
        #expect(credentials.credentials(for: "docker.io:443") == nil)
    }

    @Test("an exact key wins over a Docker Hub alias")
    func exactKeyWins() throws {
        let credentials = try parse(#"""
            {"auths":{"https://index.docker.io/v1/":{"username":"hub","password":"a"},"docker.io":{"username":"exact","password":"b"}}}
            """#)
        #expect(credentials.credentials(for: "docker.io")?.username == "exact")
        #expect(credentials.credentials(for: "index.docker.io")?.username == "hub")
    }

    @Test("the legacy .dockercfg form has the hosts at the top level")
    func legacyDockercfg() throws {
        let credentials = try parse(#"""
            {"https://index.docker.io/v1/":{"auth":"dGVzdHVzZXI6dGVzdHBhc3N3b3Jk","email":"dev@example.com"},
             "quay.io":{"username":"robot","password":"pw","email":"dev@example.com"}}
            """#)
        #expect(credentials.count == 2)
        #expect(credentials.credentials(for: "docker.io") == testuser)
        #expect(credentials.credentials(for: "quay.io") == RegistryCredentials.Basic(username: "robot", password: "pw"))
    }

    @Test("entries without usable credentials are skipped")
    func skippedEntries() throws {
        let credentials = try parse(#"""
            {"auths":{
              "myregistry.azurecr.io":{"identitytoken":"eyJhbGciOi"},
              "empty.example":{},
              "nouser.example":{"username":"","password":"pw"},
              "nopassword.example":{"username":"u"},
              "string.example":"dGVzdHVzZXI6dGVzdHBhc3N3b3Jk",
              "":{"auth":"dGVzdHVzZXI6dGVzdHBhc3N3b3Jk"},
              "https://":{"auth":"dGVzdHVzZXI6dGVzdHBhc3N3b3Jk"},
              "ghcr.io":{"auth":"dGVzdHVzZXI6dGVzdHBhc3N3b3Jk"}},
             "credsStore":"desktop","credHelpers":{"gcr.io":"gcloud"}}
            """#)
        #expect(credentials.count == 1)
        #expect(credentials.credentials(for: "ghcr.io") == testuser)
        #expect(credentials.credentials(for: "myregistry.azurecr.io") == nil)
        #expect(credentials.credentials(for: "nouser.example") == nil)
    }

    @Test("an empty auths object, or an empty file object, holds nothing")
    func empty() throws {
        #expect(try parse(#"{"auths":{}}"#).count == 0)
        #expect(try parse("{}").count == 0)
        #expect(RegistryCredentials().count == 0)
        #expect(RegistryCredentials().credentials(for: "docker.io") == nil)
    }

    @Test("an auth that is not base64 of user:password is an error naming the key", arguments: [
        "not base64!", "bm9jb2xvbg==", "/w==",
    ])
    func badAuth(auth: String) {
        // "bm9jb2xvbg==" is base64("nocolon"); "/w==" is the byte 0xFF, not UTF-8.
        #expect(parseError(#"{"auths":{"https://ghcr.io/":{"auth":"\#(auth)"}}}"#)
            == #"config.json: the "auth" of https://ghcr.io/ is not base64 of user:password"#)
    }

    @Test("documents that are not a config.json", arguments: [
        ("[]", #"config.json: expected a JSON object with an "auths" key"#),
        (#""auths""#, #"config.json: expected a JSON object with an "auths" key"#),
        (#"{"auths":[]}"#, #"config.json: "auths" must be an object"#),
        (#"{"auths":null}"#, #"config.json: "auths" must be an object"#),
        (#"{"auths":"ghcr.io"}"#, #"config.json: "auths" must be an object"#),
        ("auths:", "config.json: not valid JSON: line 1, column 1 (byte 0): unexpected character 'a', expected a value"),
        ("", "config.json: not valid JSON: line 1, column 1 (byte 0): unexpected end of text, expected a value"),
    ])
    func notAConfig(text: String, message: String) {
        #expect(parseError(text) == message)
    }

    @Test("an unreadable file names its path")
    func unreadableFile() {
        do {
            _ = try RegistryCredentials.load(path: "/nonexistent/nonroot-admission/config.json")
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "/nonexistent/nonroot-admission/config.json: cannot read the file")
        }
    }

    @Test("Basic.description and reflection never show the password")
    func descriptionRedacts() throws {
        let basic = RegistryCredentials.Basic(username: "testuser", password: "hunter2-secret")
        #expect(basic.description == "testuser:<redacted>")
        #expect("\(basic)" == "testuser:<redacted>")
        #expect(!String(reflecting: basic).contains("hunter2-secret"))
        let credentials = try parse(#"{"auths":{"ghcr.io":{"username":"testuser","password":"hunter2-secret"}}}"#)
        #expect(!String(describing: credentials).contains("hunter2-secret"))
        #expect(!String(reflecting: credentials).contains("hunter2-secret"))
    }

    @Test("the Authorization header is Basic base64(user:password)")
    func header() {
        #expect(testuser.header == "Basic dGVzdHVzZXI6dGVzdHBhc3N3b3Jk")
        #expect(RegistryCredentials.Basic(username: "robot$acme", password: "s3cr:et").header == "Basic cm9ib3QkYWNtZTpzM2NyOmV0")
    }
}
