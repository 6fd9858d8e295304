import Testing
@testable import ImageRegistry

private let emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
private let abcSHA256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
private let abcSHA512 = "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"

@Suite("ContentDigest")
struct ContentDigestTests {
    @Test("a sha256 digest parses into algorithm and hex")
    func validSHA256() throws {
        let digest = try #require(ContentDigest("sha256:" + abcSHA256))
        #expect(digest.algorithm == .sha256)
        #expect(digest.hex == abcSHA256)
        #expect(digest.description == "sha256:" + abcSHA256)
    }

    @Test("a sha512 digest parses into algorithm and hex")
    func validSHA512() throws {
        let digest = try #require(ContentDigest("sha512:" + abcSHA512))
        #expect(digest.algorithm == .sha512)
        #expect(digest.hex == abcSHA512)
        #expect(digest.description == "sha512:" + abcSHA512)
    }

    @Test("malformed digests are rejected", arguments: [
        "sha256:" + abcSHA256.uppercased(),                   // uppercase hex
        "sha256:BA7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "SHA256:" + abcSHA256,                                // uppercase algorithm
        "sha256:" + String(abcSHA256.dropLast()),             // 63 digits
        "sha256:" + abcSHA256 + "0",                          // 65 digits
        "sha256:abc",
        "sha256:",
        "sha512:" + abcSHA256,                                // sha512 with 64 digits
        "sha512:" + abcSHA512 + "00",
        "sha384:" + String(abcSHA512.prefix(96)),             // unknown algorithm
        "md5:d41d8cd98f00b204e9800998ecf8427e",
        "sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564",
        abcSHA256,                                            // no algorithm
        ":" + abcSHA256,
        "sha256:" + String(abcSHA256.dropLast()) + "g",       // not hex
        "sha256: " + String(abcSHA256.dropLast()),
        " sha256:" + abcSHA256,
        "",
    ])
    func invalid(text: String) {
        #expect(ContentDigest(text) == nil)
    }

    @Test("sha256 of the empty input is the well-known digest")
    func sha256OfEmpty() {
        #expect(ContentDigest.sha256(of: []).description == "sha256:" + emptySHA256)
        #expect(ContentDigest.sha256(of: []) == ContentDigest("sha256:" + emptySHA256))
    }

    @Test("sha256 of abc")
    func sha256OfABC() {
        #expect(ContentDigest.sha256(of: Array("abc".utf8)).description == "sha256:" + abcSHA256)
    }

    @Test("matches compares the bytes' hash, for sha256 and sha512")
    func matches() throws {
        let sha256 = try #require(ContentDigest("sha256:" + abcSHA256))
        let sha512 = try #require(ContentDigest("sha512:" + abcSHA512))
        #expect(sha256.matches(Array("abc".utf8)))
        #expect(!sha256.matches(Array("abd".utf8)))
        #expect(!sha256.matches([]))
        #expect(sha512.matches(Array("abc".utf8)))
        #expect(!sha512.matches(Array("abc\n".utf8)))
        #expect(try #require(ContentDigest("sha256:" + emptySHA256)).matches([]))
    }
}

@Suite("AuthChallenge.parse")
struct AuthChallengeTests {
    @Test("Docker Hub's Bearer challenge")
    func dockerHub() {
        let header = #"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull""#
        #expect(AuthChallenge.parse(header) == [
            AuthChallenge(scheme: "bearer", parameters: [
                "realm": "https://auth.docker.io/token", "service": "registry.docker.io", "scope": "repository:library/nginx:pull",
            ]),
        ])
    }

    @Test("a Basic challenge")
    func basic() {
        #expect(AuthChallenge.parse(#"Basic realm="Registry Realm""#) == [AuthChallenge(scheme: "basic", parameters: ["realm": "Registry Realm"])])
    }

    @Test("two challenges in one header")
    func twoChallenges() {
        let header = #"Basic realm="registry-fixture", Bearer realm="https://127.0.0.1:5106/token",service="regfix-registry",scope="repository:oci/users:pull""#
        #expect(AuthChallenge.parse(header) == [
            AuthChallenge(scheme: "basic", parameters: ["realm": "registry-fixture"]),
            AuthChallenge(scheme: "bearer", parameters: [
                "realm": "https://127.0.0.1:5106/token", "service": "regfix-registry", "scope": "repository:oci/users:pull",
            ]),
        ])
    }

    @Test("unquoted values, with ':' and '/' in them")
    func unquotedValues() {
        let header = "Bearer realm=https://auth.example.com/token,service=registry.example.com,scope=repository:acme/api:pull"
        #expect(AuthChallenge.parse(header) == [
            AuthChallenge(scheme: "bearer", parameters: [
                "realm": "https://auth.example.com/token", "service": "registry.example.com", "scope": "repository:acme/api:pull",
            ]),
        ])
    }

    @Test("escaped quotes and backslashes inside a quoted value")
    func escapedQuotes() {
        let header = #"Bearer realm="https://a.example/token",error_description="the \"scope\" is \\ wrong""#
        #expect(AuthChallenge.parse(header) == [
            AuthChallenge(scheme: "bearer", parameters: ["realm": "https://a.example/token", "error_description": #"the "scope" is \ wrong"#]),
        ])
    }

    @Test("a comma inside a quoted value does not split it")
    func commaInQuotedValue() {
        #expect(AuthChallenge.parse(#"Bearer scope="repository:a/b:pull,push",realm="r""#) == [
            AuthChallenge(scheme: "bearer", parameters: ["scope": "repository:a/b:pull,push", "realm": "r"]),
        ])
    }

    @Test("extra spaces, tabs and commas are skipped")
    func extraSeparators() {
        #expect(AuthChallenge.parse(" ,, Bearer \t realm = \"r\" ,,  service=\"s\" , ") == [
            AuthChallenge(scheme: "bearer", parameters: ["realm": "r", "service": "s"]),
        ])
    }

    @Test("scheme and parameter names are lowercased, values are not")
    func lowercasing() {
        #expect(AuthChallenge.parse(#"BEARER Realm="https://Auth.Example/Token",SERVICE=Registry"#) == [
            AuthChallenge(scheme: "bearer", parameters: ["realm": "https://Auth.Example/Token", "service": "Registry"]),
        ])
    }

    @Test("error=\"insufficient_scope\" is a parameter like the others")
    func insufficientScope() {
        let header = #"Bearer realm="https://127.0.0.1:5106/token",service="regfix-registry",scope="repository:private/users:pull",error="insufficient_scope""#
        #expect(AuthChallenge.parse(header) == [
            AuthChallenge(scheme: "bearer", parameters: [
                "realm": "https://127.0.0.1:5106/token", "service": "regfix-registry",
                "scope": "repository:private/users:pull", "error": "insufficient_scope",
            ]),
        ])
    }

    @Test("a repeated parameter keeps its last value")
    func repeatedParameter() {
        #expect(AuthChallenge.parse(#"Bearer realm="a",realm="b""#) == [AuthChallenge(scheme: "bearer", parameters: ["realm": "b"])])
    }

    @Test("nothing usable gives no challenges", arguments: ["", "   ", ",", " , ,\t", "\"quoted\"", "=", "==x", ";", "\u{0}\u{7F}", "é"])
    func empty(header: String) {
        #expect(AuthChallenge.parse(header) == [])
    }

    @Test("malformed input parses as far as it can, never crashing", arguments: [
        ("Bearer", [AuthChallenge(scheme: "bearer", parameters: [:])]),
        ("Bearer realm=", [AuthChallenge(scheme: "bearer", parameters: ["realm": ""])]),
        ("Bearer realm=,service=s", [AuthChallenge(scheme: "bearer", parameters: ["realm": "", "service": "s"])]),
        (#"Bearer realm="unterminated"#, [AuthChallenge(scheme: "bearer", parameters: ["realm": "unterminated"])]),
        (#"Bearer realm="ends in a backslash\"#, [AuthChallenge(scheme: "bearer", parameters: ["realm": "ends in a backslash\\"])]),
        (#"Bearer realm="a",, ,service="b" garbage; x=1"#, [
            AuthChallenge(scheme: "bearer", parameters: ["realm": "a", "service": "b"]),
            AuthChallenge(scheme: "garbage", parameters: [:]),
        ]),
        ("Negotiate YIIB", [AuthChallenge(scheme: "negotiate", parameters: [:]), AuthChallenge(scheme: "yiib", parameters: [:])]),
        ("Basic dXNlcjpwYXNz==", [AuthChallenge(scheme: "basic", parameters: ["dxnlcjpwyxnz": ""])]),
        ("Bearer ;realm=x", [AuthChallenge(scheme: "bearer", parameters: [:])]),
    ])
    func malformed(header: String, expected: [AuthChallenge]) {
        #expect(AuthChallenge.parse(header) == expected)
    }

    @Test("a long run of separators and schemes finishes")
    func longInput() {
        let header = String(repeating: "Bearer a=b, ", count: 2_000) + String(repeating: ",", count: 10_000)
        let challenges = AuthChallenge.parse(header)
        #expect(challenges.count == 2_000)
        #expect(challenges.allSatisfy { $0 == AuthChallenge(scheme: "bearer", parameters: ["a": "b"]) })
    }
}
