import Testing
@testable import ImageRegistry

/// The parts of a RegistryURL, for exact comparison.
struct URLParts: Equatable, CustomStringConvertible {
    var secure: Bool
    var host: String
    var port: Int
    var pathAndQuery: String

    init(_ secure: Bool, _ host: String, _ port: Int, _ pathAndQuery: String) {
        self.secure = secure
        self.host = host
        self.port = port
        self.pathAndQuery = pathAndQuery
    }

    init(_ url: RegistryURL) {
        self.init(url.isSecure, url.host, url.port, url.pathAndQuery)
    }

    var description: String { "\(secure ? "https" : "http") \(host) \(port) \(pathAndQuery)" }
}

private func parts(_ text: String) -> URLParts? { RegistryURL(absolute: text).map(URLParts.init) }

@Suite("RegistryURL")
struct RegistryURLTests {
    @Test("absolute http and https URLs", arguments: [
        ("https://registry.example/v2/", URLParts(true, "registry.example", 443, "/v2/")),
        ("https://registry.example", URLParts(true, "registry.example", 443, "/")),
        ("http://127.0.0.1:5100/v2/oci/users/manifests/user-1000", URLParts(false, "127.0.0.1", 5100, "/v2/oci/users/manifests/user-1000")),
        ("http://registry.example/v2/", URLParts(false, "registry.example", 80, "/v2/")),
        ("https://registry.example:8443/v2/", URLParts(true, "registry.example", 8443, "/v2/")),
        ("https://registry.example:443/v2/", URLParts(true, "registry.example", 443, "/v2/")),
        ("http://[::1]:5000/v2/", URLParts(false, "::1", 5000, "/v2/")),
        ("https://[FE80::1]/v2/", URLParts(true, "fe80::1", 443, "/v2/")),
        ("HTTPS://Registry.Example/V2/Acme", URLParts(true, "registry.example", 443, "/V2/Acme")),
        ("https://127.0.0.1:5106/token?service=regfix-registry&scope=repository:oci/users:pull",
         URLParts(true, "127.0.0.1", 5106, "/token?service=regfix-registry&scope=repository:oci/users:pull")),
        ("https://registry.example?x=1", URLParts(true, "registry.example", 443, "/?x=1")),
        ("https://s3.example/blob?X-Amz-Signature=abc#frag", URLParts(true, "s3.example", 443, "/blob?X-Amz-Signature=abc")),
        ("https://registry.example#frag", URLParts(true, "registry.example", 443, "/")),
        ("https://registry.example:65535/", URLParts(true, "registry.example", 65535, "/")),
    ])
    func absolute(text: String, expected: URLParts) {
        #expect(parts(text) == expected)
    }

    @Test("userinfo, bad ports, other schemes and relative text are rejected", arguments: [
        "https://user:password@registry.example/v2/",
        "https://@registry.example/",
        "https://registry.example:0/",
        "https://registry.example:65536/",
        "https://registry.example:-1/",
        "https://",
        "https:///v2/",
        "http://:5000/v2/",
        "ftp://registry.example/",
        "file:///etc/passwd",
        "//registry.example/v2/",
        "/v2/",
        "registry.example/v2/",
        "",
    ])
    func rejected(text: String) {
        #expect(RegistryURL(absolute: text) == nil)
    }

    @Test("a malformed authority is rejected", arguments: [
        "https://registry.example:abc/v2/",
        "https://registry.example:/v2/",
        "https://[::1]junk/v2/",
        "https://[::1/v2/",
    ])
    func malformedAuthority(text: String) {
        #expect(RegistryURL(absolute: text) == nil)
    }

    @Test("the URL of a registry API path")
    func registryPath() {
        #expect(URLParts(RegistryURL(registry: "ghcr.io", secure: true, path: "/v2/acme/api/manifests/v1")) == URLParts(true, "ghcr.io", 443, "/v2/acme/api/manifests/v1"))
        #expect(URLParts(RegistryURL(registry: "127.0.0.1:5100", secure: false, path: "/v2/")) == URLParts(false, "127.0.0.1", 5100, "/v2/"))
        #expect(URLParts(RegistryURL(registry: "[::1]:5000", secure: false, path: "v2/")) == URLParts(false, "::1", 5000, "/v2/"))
        #expect(URLParts(RegistryURL(registry: "[::1]", secure: true, path: "/v2/")) == URLParts(true, "::1", 443, "/v2/"))
    }

    @Test("Location headers resolve against the URL", arguments: [
        ("https://cdn.example/blobs/data?sig=1", URLParts(true, "cdn.example", 443, "/blobs/data?sig=1")),
        ("http://localhost:5102/docker/registry/v2/blobs/sha256/cb/cb12/data", URLParts(false, "localhost", 5102, "/docker/registry/v2/blobs/sha256/cb/cb12/data")),
        ("//cdn.example/blobs/data", URLParts(true, "cdn.example", 443, "/blobs/data")),
        ("//cdn.example:8443/x?y=1", URLParts(true, "cdn.example", 8443, "/x?y=1")),
        ("/v2/other/blobs/sha256:abc?z=1", URLParts(true, "registry.example", 5000, "/v2/other/blobs/sha256:abc?z=1")),
        ("data?sig=2", URLParts(true, "registry.example", 5000, "/v2/acme/api/blobs/data?sig=2")),
        ("../x", URLParts(true, "registry.example", 5000, "/v2/acme/api/blobs/../x")),
    ])
    func resolving(location: String, expected: URLParts) throws {
        let base = try #require(RegistryURL(absolute: "https://registry.example:5000/v2/acme/api/blobs/sha256:cb12?from=1"))
        #expect(base.resolving(location).map(URLParts.init) == expected)
    }

    @Test("a scheme-relative Location keeps plain HTTP on plain HTTP")
    func schemeRelativeOnHTTP() throws {
        let base = try #require(RegistryURL(absolute: "http://127.0.0.1:5101/v2/oci/users/blobs/sha256:cb12"))
        #expect(base.resolving("//localhost:5102/data").map(URLParts.init) == URLParts(false, "localhost", 5102, "/data"))
        #expect(base.resolving("blob").map(URLParts.init) == URLParts(false, "127.0.0.1", 5101, "/v2/oci/users/blobs/blob"))
    }

    @Test("a scheme-relative Location with userinfo does not resolve")
    func schemeRelativeRejected() throws {
        let base = try #require(RegistryURL(absolute: "https://registry.example/v2/"))
        #expect(base.resolving("//user@evil.example/") == nil)
        #expect(base.resolving("//registry.example:0/") == nil)
    }

    @Test("an absolute Location that is not a usable http(s) URL does not resolve", arguments: [
        "https://user:pw@evil.example/",
        "https://registry.example:99999/",
        "ftp://mirror.example/blob",
        "file:///etc/passwd",
    ])
    func absoluteLocationRejected(location: String) throws {
        let base = try #require(RegistryURL(absolute: "https://registry.example/v2/acme/api/blobs/sha256:cb12"))
        #expect(base.resolving(location) == nil)
    }

    @Test("origin always has the port; authority omits the scheme's default", arguments: [
        ("https://registry.example/v2/", "https://registry.example:443", "registry.example", "https://registry.example/v2/"),
        ("https://registry.example:443/v2/", "https://registry.example:443", "registry.example", "https://registry.example/v2/"),
        ("http://registry.example:80/v2/", "http://registry.example:80", "registry.example", "http://registry.example/v2/"),
        ("http://registry.example:443/v2/", "http://registry.example:443", "registry.example:443", "http://registry.example:443/v2/"),
        ("https://registry.example:80/v2/", "https://registry.example:80", "registry.example:80", "https://registry.example:80/v2/"),
        ("http://127.0.0.1:5100/v2/?a=b", "http://127.0.0.1:5100", "127.0.0.1:5100", "http://127.0.0.1:5100/v2/?a=b"),
        ("http://[::1]:5000/v2/", "http://::1:5000", "[::1]:5000", "http://[::1]:5000/v2/"),
        ("https://[::1]/v2/", "https://::1:443", "[::1]", "https://[::1]/v2/"),
    ])
    func originAndAuthority(text: String, origin: String, authority: String, description: String) throws {
        let url = try #require(RegistryURL(absolute: text))
        #expect(url.origin == origin)
        #expect(url.authority == authority)
        #expect(url.description == description)
    }

    @Test("redacted drops the query", arguments: [
        ("https://s3.example/bucket/data?X-Amz-Signature=secret&X-Amz-Credential=AKIA", "https://s3.example/bucket/data"),
        ("https://127.0.0.1:5106/token?service=regfix-registry", "https://127.0.0.1:5106/token"),
        ("http://registry.example:8080/v2/", "http://registry.example:8080/v2/"),
        ("https://registry.example?token=secret", "https://registry.example/"),
        ("https://[::1]:5000/a?b", "https://[::1]:5000/a"),
    ])
    func redacted(text: String, expected: String) throws {
        #expect(try #require(RegistryURL(absolute: text)).redacted == expected)
    }

    @Test("query values are percent-encoded, unreserved characters pass", arguments: [
        ("repository:library/nginx:pull", "repository%3Alibrary%2Fnginx%3Apull"),
        ("repository:oci/users:pull,push", "repository%3Aoci%2Fusers%3Apull%2Cpush"),
        ("registry.docker.io", "registry.docker.io"),
        ("AZaz09-._~", "AZaz09-._~"),
        ("a b+c&d=e?f#g%", "a%20b%2Bc%26d%3De%3Ff%23g%25"),
        ("é", "%C3%A9"),
        ("", ""),
    ])
    func queryEncoded(text: String, expected: String) {
        #expect(text.queryEncoded == expected)
    }
}
