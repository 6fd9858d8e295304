import Testing
@testable import ImageRegistry

@Suite("RegistryError.description")
struct ErrorDescriptionTests {
    @Test("every case reads as a sentence for the user", arguments: [
        (RegistryError.invalidReference(#"invalid image reference "Nginx": repository name must be lowercase"#),
         #"invalid image reference "Nginx": repository name must be lowercase"#),
        (.notAllowed(registry: "quay.io"), "registry quay.io is not in --registry-allowlist"),
        (.dns(host: "registry.invalid", reason: "Name or service not known"),
         "cannot resolve registry host registry.invalid: Name or service not known"),
        (.insecureRefused(url: "http://registry.example/v2/acme/api/manifests/v1"),
         "refusing plain HTTP to http://registry.example/v2/acme/api/manifests/v1; name the registry in --registry-allow-insecure to allow it"),
        (.credentialsOverHTTP(host: "127.0.0.1:5101"),
         "registry 127.0.0.1:5101 asks for credentials over plain HTTP; they are never sent unencrypted"),
        (.unauthorized(host: "127.0.0.1:5105", detail: "insufficient_scope"),
         "registry 127.0.0.1:5105 refused access: insufficient_scope"),
        (.status(code: 404, phrase: "Not Found", request: "GET /v2/oci/users/manifests/nope", detail: "MANIFEST_UNKNOWN: manifest unknown", retryAfter: nil),
         "registry answered 404 Not Found to GET /v2/oci/users/manifests/nope: MANIFEST_UNKNOWN: manifest unknown"),
        (.status(code: 429, phrase: "Too Many Requests", request: "GET /v2/library/nginx/manifests/latest", detail: "TOOMANYREQUESTS: rate limit", retryAfter: "1"),
         "registry answered 429 Too Many Requests to GET /v2/library/nginx/manifests/latest: TOOMANYREQUESTS: rate limit (Retry-After: 1)"),
        (.status(code: 503, phrase: "Service Unavailable", request: "HEAD /v2/a/manifests/b", detail: "", retryAfter: "30"),
         "registry answered 503 Service Unavailable to HEAD /v2/a/manifests/b (Retry-After: 30)"),
        (.status(code: 502, phrase: "Bad Gateway", request: "GET /v2/a/blobs/sha256:00", detail: "", retryAfter: nil),
         "registry answered 502 Bad Gateway to GET /v2/a/blobs/sha256:00"),
        (.tooLarge(what: "config blob", limit: 1_048_576), "config blob is larger than 1 MiB, the most read for one registry document"),
        (.tooLarge(what: "manifest latest", limit: 65_536), "manifest latest is larger than 64 KiB, the most read for one registry document"),
        (.tooLarge(what: "manifest latest", limit: 1000), "manifest latest is larger than 1000 bytes, the most read for one registry document"),
        (.busy(.fetches(64)), "registry lookups are busy: 64 requests in flight, the most allowed (--registry-max-concurrent-fetches); no room came free before the lookup's deadline"),
        (.busy(.bytes(33_554_432)), "registry lookups are busy: 32 MiB of responses held, the most allowed (--registry-max-bytes-in-flight); no room came free before the lookup's deadline"),
        (.digestMismatch(what: "config blob", expected: "sha256:cb12", actual: "sha256:e3b0"),
         "config blob sha256:cb12 does not match its digest: the body hashes to sha256:e3b0"),
        (.document(what: "manifest user-1000", reason: #"image manifest has no "config" descriptor"#),
         #"manifest user-1000: image manifest has no "config" descriptor"#),
        (.noPlatform(wanted: "linux/arm64/v8", available: "linux/amd64, windows/amd64"),
         "the image index has no manifest for linux/arm64/v8 (it lists linux/amd64, windows/amd64)"),
        (.noPlatform(wanted: "linux or windows", available: ""),
         "the image index has no manifest for linux or windows (it lists none)"),
        (.tooManyRedirects(limit: 3), "more than 3 redirects"),
        (.timeout(after: .milliseconds(1500)), "registry lookup timed out after 1500ms"),
        (.timeout(after: .seconds(3)), "registry lookup timed out after 3s"),
        (.transport(host: "127.0.0.1:5103", reason: "connection refused"), "cannot reach registry 127.0.0.1:5103: connection refused"),
    ])
    func description(error: RegistryError, text: String) {
        #expect(error.description == text)
        #expect("\(error)" == text)
    }

    @Test("a refused host name names the address it resolved to", arguments: [
        (RegistryError.refusedAddress(host: "metadata.google.internal", address: "169.254.169.254", why: "a link-local (169.254.0.0/16) address"),
         "registry host metadata.google.internal resolves to 169.254.169.254, a link-local (169.254.0.0/16) address; lookups there need --registry-allow-private"),
        (.refusedAddress(host: "localhost", address: "::1", why: "a loopback address"),
         "registry host localhost resolves to ::1, a loopback address; lookups there need --registry-allow-private"),
    ])
    func refusedHostName(error: RegistryError, text: String) {
        #expect(error.description == text)
    }

    @Test("a refused IP literal is named once", arguments: [
        (RegistryError.refusedAddress(host: "127.0.0.1", address: "127.0.0.1", why: "a loopback address"),
         "registry address 127.0.0.1 is a loopback address; lookups there need --registry-allow-private"),
        (.refusedAddress(host: "10.1.2.3", address: "10.1.2.3", why: "a private (10.0.0.0/8) address"),
         "registry address 10.1.2.3 is a private (10.0.0.0/8) address; lookups there need --registry-allow-private"),
        (.refusedAddress(host: "::ffff:127.0.0.1", address: "::ffff:127.0.0.1", why: "a loopback address"),
         "registry address ::ffff:127.0.0.1 is a loopback address; lookups there need --registry-allow-private"),
        (.refusedAddress(host: "fd12::1", address: "fd12::1", why: "a unique-local (fc00::/7) address"),
         "registry address fd12::1 is a unique-local (fc00::/7) address; lookups there need --registry-allow-private"),
    ])
    func refusedLiteral(error: RegistryError, text: String) {
        #expect(error.description == text)
    }

    @Test("durations print as whole seconds or milliseconds, rounded to 10 ms", arguments: [
        (Duration.milliseconds(1500), "1500ms"),
        (.seconds(3), "3s"),
        (.seconds(0), "0s"),
        (.milliseconds(250), "250ms"),
        (.milliseconds(3000), "3s"),
        (.seconds(120), "120s"),
        (.milliseconds(1499), "1500ms"),
        (.microseconds(1_499_999), "1500ms"),
        (.milliseconds(1494), "1490ms"),
        (.milliseconds(2995), "3s"),
        (.milliseconds(2994), "2990ms"),
        (.milliseconds(60_001), "60s"),
        (.microseconds(4_999), "0s"),
        (.milliseconds(5), "10ms"),
    ])
    func format(duration: Duration, text: String) {
        #expect(RegistryError.format(duration) == text)
    }

    @Test("descriptions of the other error types")
    func otherErrors() {
        #expect(RegistryCredentialsError(source: "/etc/nonroot/config.json", reason: "cannot read the file").description == "/etc/nonroot/config.json: cannot read the file")
        #expect(RegistryDocumentError("token response has neither \"token\" nor \"access_token\"").description == #"token response has neither "token" nor "access_token""#)
        #expect(RegistrySetupError(reason: "/ca.pem: no PEM certificates").description == "/ca.pem: no PEM certificates")
    }
}
