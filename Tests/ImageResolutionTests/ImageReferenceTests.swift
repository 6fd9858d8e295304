import Testing
import TestSupport
@testable import ImageResolution

private let sha256Hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
private let sha384Hex = String(repeating: "0123456789abcdef", count: 6)
private let sha512Hex = String(repeating: "0123456789abcdef", count: 8)

/// An input and every field it must normalise to.
struct ImageReferenceValidCase: Sendable, CustomTestStringConvertible {
    var input: String
    var registry: String
    var repository: String
    var tag: String?
    var digest: String?
    var name: String
    var description: String

    var testDescription: String { input }
}

/// An input and the reason it must be rejected with.
struct ImageReferenceInvalidCase: Sendable, CustomTestStringConvertible {
    var input: String
    var reason: String

    var testDescription: String { input.count > 60 ? String(input.prefix(60)) + "…" : input }
}

private typealias Valid = ImageReferenceValidCase
private typealias Invalid = ImageReferenceInvalidCase

private let validCases: [Valid] = [
    Valid(input: "nginx", registry: "docker.io", repository: "library/nginx", tag: "latest", digest: nil,
          name: "docker.io/library/nginx", description: "docker.io/library/nginx:latest"),
    Valid(input: "nginx:1.27", registry: "docker.io", repository: "library/nginx", tag: "1.27", digest: nil,
          name: "docker.io/library/nginx", description: "docker.io/library/nginx:1.27"),
    Valid(input: "library/nginx", registry: "docker.io", repository: "library/nginx", tag: "latest", digest: nil,
          name: "docker.io/library/nginx", description: "docker.io/library/nginx:latest"),
    Valid(input: "docker.io/nginx", registry: "docker.io", repository: "library/nginx", tag: "latest", digest: nil,
          name: "docker.io/library/nginx", description: "docker.io/library/nginx:latest"),
    Valid(input: "docker.io/library/nginx:latest", registry: "docker.io", repository: "library/nginx",
          tag: "latest", digest: nil,
          name: "docker.io/library/nginx", description: "docker.io/library/nginx:latest"),
    Valid(input: "index.docker.io/library/nginx:1", registry: "docker.io", repository: "library/nginx",
          tag: "1", digest: nil,
          name: "docker.io/library/nginx", description: "docker.io/library/nginx:1"),
    Valid(input: "index.docker.io/nginx", registry: "docker.io", repository: "library/nginx",
          tag: "latest", digest: nil,
          name: "docker.io/library/nginx", description: "docker.io/library/nginx:latest"),
    Valid(input: "bitnami/redis:7.2", registry: "docker.io", repository: "bitnami/redis", tag: "7.2", digest: nil,
          name: "docker.io/bitnami/redis", description: "docker.io/bitnami/redis:7.2"),
    Valid(input: "ghcr.io/acme/api:v1", registry: "ghcr.io", repository: "acme/api", tag: "v1", digest: nil,
          name: "ghcr.io/acme/api", description: "ghcr.io/acme/api:v1"),
    Valid(input: "ghcr.io/nginx", registry: "ghcr.io", repository: "nginx", tag: "latest", digest: nil,
          name: "ghcr.io/nginx", description: "ghcr.io/nginx:latest"),
    Valid(input: "localhost:5000/app", registry: "localhost:5000", repository: "app", tag: "latest", digest: nil,
          name: "localhost:5000/app", description: "localhost:5000/app:latest"),
    Valid(input: "localhost:5000/app:1.0", registry: "localhost:5000", repository: "app", tag: "1.0", digest: nil,
          name: "localhost:5000/app", description: "localhost:5000/app:1.0"),
    Valid(input: "localhost/app", registry: "localhost", repository: "app", tag: "latest", digest: nil,
          name: "localhost/app", description: "localhost/app:latest"),
    Valid(input: "[::1]:5000/a/b:c", registry: "[::1]:5000", repository: "a/b", tag: "c", digest: nil,
          name: "[::1]:5000/a/b", description: "[::1]:5000/a/b:c"),
    Valid(input: "[2001:DB8::1]/app", registry: "[2001:DB8::1]", repository: "app", tag: "latest", digest: nil,
          name: "[2001:DB8::1]/app", description: "[2001:DB8::1]/app:latest"),
    Valid(input: "127.0.0.1:5000/app", registry: "127.0.0.1:5000", repository: "app", tag: "latest", digest: nil,
          name: "127.0.0.1:5000/app", description: "127.0.0.1:5000/app:latest"),
    Valid(input: "Registry.Example.com/a", registry: "Registry.Example.com", repository: "a",
          tag: "latest", digest: nil,
          name: "Registry.Example.com/a", description: "Registry.Example.com/a:latest"),
    Valid(input: "my-registry.io:443/team/app@sha256:\(sha256Hex)", registry: "my-registry.io:443",
          repository: "team/app", tag: nil, digest: "sha256:\(sha256Hex)",
          name: "my-registry.io:443/team/app",
          description: "my-registry.io:443/team/app@sha256:\(sha256Hex)"),
    Valid(input: "nginx:1.27@sha256:\(sha256Hex)", registry: "docker.io", repository: "library/nginx",
          tag: "1.27", digest: "sha256:\(sha256Hex)",
          name: "docker.io/library/nginx", description: "docker.io/library/nginx:1.27@sha256:\(sha256Hex)"),
    Valid(input: "nginx@sha256:\(sha256Hex)", registry: "docker.io", repository: "library/nginx",
          tag: nil, digest: "sha256:\(sha256Hex)",
          name: "docker.io/library/nginx", description: "docker.io/library/nginx@sha256:\(sha256Hex)"),
    Valid(input: "nginx@sha384:\(sha384Hex)", registry: "docker.io", repository: "library/nginx",
          tag: nil, digest: "sha384:\(sha384Hex)",
          name: "docker.io/library/nginx", description: "docker.io/library/nginx@sha384:\(sha384Hex)"),
    Valid(input: "nginx@sha512:\(sha512Hex)", registry: "docker.io", repository: "library/nginx",
          tag: nil, digest: "sha512:\(sha512Hex)",
          name: "docker.io/library/nginx", description: "docker.io/library/nginx@sha512:\(sha512Hex)"),
    Valid(input: "nginx@blake3+b.x-y_z:0123456789ABCDEF0123456789abcdef", registry: "docker.io",
          repository: "library/nginx", tag: nil, digest: "blake3+b.x-y_z:0123456789ABCDEF0123456789abcdef",
          name: "docker.io/library/nginx",
          description: "docker.io/library/nginx@blake3+b.x-y_z:0123456789ABCDEF0123456789abcdef"),
    Valid(input: "mcr.microsoft.com/dotnet/samples:aspnetapp", registry: "mcr.microsoft.com",
          repository: "dotnet/samples", tag: "aspnetapp", digest: nil,
          name: "mcr.microsoft.com/dotnet/samples", description: "mcr.microsoft.com/dotnet/samples:aspnetapp"),
    Valid(input: "a/b/c/d:e", registry: "docker.io", repository: "a/b/c/d", tag: "e", digest: nil,
          name: "docker.io/a/b/c/d", description: "docker.io/a/b/c/d:e"),
    Valid(input: "a__b/c---d_e.f", registry: "docker.io", repository: "a__b/c---d_e.f", tag: "latest", digest: nil,
          name: "docker.io/a__b/c---d_e.f", description: "docker.io/a__b/c---d_e.f:latest"),
    Valid(input: "nginx:_Under.Score-1", registry: "docker.io", repository: "library/nginx",
          tag: "_Under.Score-1", digest: nil,
          name: "docker.io/library/nginx", description: "docker.io/library/nginx:_Under.Score-1"),
    // A single component is always a Docker Hub name, even when it looks like a host.
    Valid(input: "localhost", registry: "docker.io", repository: "library/localhost", tag: "latest", digest: nil,
          name: "docker.io/library/localhost", description: "docker.io/library/localhost:latest"),
    Valid(input: "localhost:5000", registry: "docker.io", repository: "library/localhost", tag: "5000", digest: nil,
          name: "docker.io/library/localhost", description: "docker.io/library/localhost:5000"),
    Valid(input: "example.com", registry: "docker.io", repository: "library/example.com", tag: "latest",
          digest: nil,
          name: "docker.io/library/example.com", description: "docker.io/library/example.com:latest"),
    // An uppercase first component is taken as a registry host.
    Valid(input: "Acme/app", registry: "Acme", repository: "app", tag: "latest", digest: nil,
          name: "Acme/app", description: "Acme/app:latest"),
    // Only exactly `docker.io` gets the `library/` prefix.
    Valid(input: "Docker.io/nginx", registry: "Docker.io", repository: "nginx", tag: "latest", digest: nil,
          name: "Docker.io/nginx", description: "Docker.io/nginx:latest"),
    // Not a valid host, but a valid path: distribution/reference keeps the name without a default domain.
    Valid(input: "a_b.c/app", registry: "a_b.c", repository: "app", tag: "latest", digest: nil,
          name: "a_b.c/app", description: "a_b.c/app:latest"),
    Valid(input: "nginx:" + String(repeating: "t", count: 128), registry: "docker.io",
          repository: "library/nginx", tag: String(repeating: "t", count: 128), digest: nil,
          name: "docker.io/library/nginx",
          description: "docker.io/library/nginx:" + String(repeating: "t", count: 128)),
    // 18 characters of `docker.io/library/` plus 237 make exactly 255.
    Valid(input: String(repeating: "a", count: 237), registry: "docker.io",
          repository: "library/" + String(repeating: "a", count: 237), tag: "latest", digest: nil,
          name: "docker.io/library/" + String(repeating: "a", count: 237),
          description: "docker.io/library/" + String(repeating: "a", count: 237) + ":latest"),
]

private let invalidCases: [Invalid] = [
    Invalid(input: "", reason: "reference is empty"),
    Invalid(input: " nginx", reason: "reference must not contain whitespace"),
    Invalid(input: "nginx ", reason: "reference must not contain whitespace"),
    Invalid(input: "ngi nx", reason: "reference must not contain whitespace"),
    Invalid(input: "nginx\n", reason: "reference must not contain whitespace"),
    Invalid(input: "nginx:\t1", reason: "reference must not contain whitespace"),
    Invalid(input: "Nginx", reason: "repository name must be lowercase"),
    Invalid(input: "nginx/Web", reason: "repository name must be lowercase"),
    Invalid(input: "ghcr.io/Acme/api", reason: "repository name must be lowercase"),
    Invalid(input: "A_B/app", reason: "repository name must be lowercase"),
    Invalid(input: String(repeating: "AB", count: 32), reason: "repository name must be lowercase"),
    Invalid(input: "nginx:", reason: "invalid tag"),
    Invalid(input: "nginx:-bad", reason: "invalid tag"),
    Invalid(input: "nginx:.bad", reason: "invalid tag"),
    Invalid(input: "nginx:ü", reason: "invalid tag"),
    Invalid(input: "nginx:" + String(repeating: "t", count: 129), reason: "invalid tag"),
    Invalid(input: "nginx@", reason: "invalid digest"),
    Invalid(input: "nginx:1.27@", reason: "invalid digest"),
    Invalid(input: "nginx@sha256:abc", reason: "invalid digest"),
    Invalid(input: "nginx@sha256:" + String(sha256Hex.dropLast()), reason: "invalid digest"),
    Invalid(input: "nginx@sha256:" + sha256Hex + "0", reason: "invalid digest"),
    Invalid(input: "nginx@sha256:" + sha256Hex.uppercased(), reason: "invalid digest"),
    Invalid(input: "nginx@SHA256:" + sha256Hex, reason: "invalid digest"),
    Invalid(input: "nginx:1@Sha256:" + sha256Hex, reason: "invalid digest"),
    Invalid(input: "nginx@Blake3:" + sha256Hex, reason: "invalid digest"),
    Invalid(input: "nginx@sha512:" + sha256Hex, reason: "invalid digest"),
    Invalid(input: "nginx@sha384:" + sha512Hex, reason: "invalid digest"),
    Invalid(input: "nginx@md5:0123456789abcdef", reason: "invalid digest"),
    Invalid(input: "nginx@sha256:" + String(repeating: "g", count: 64), reason: "invalid digest"),
    Invalid(input: "nginx@sha256" + sha256Hex, reason: "invalid digest"),
    Invalid(input: "nginx@1sha:" + sha256Hex, reason: "invalid digest"),
    Invalid(input: "nginx@sha--256:" + sha256Hex, reason: "invalid digest"),
    Invalid(input: "nginx@:" + sha256Hex, reason: "invalid digest"),
    Invalid(input: sha256Hex, reason: "reference is a bare 64-character image ID, not a repository name"),
    Invalid(input: "a//b", reason: "invalid reference format"),
    Invalid(input: "/a", reason: "invalid reference format"),
    Invalid(input: "a/", reason: "invalid reference format"),
    Invalid(input: "ghcr.io/", reason: "invalid reference format"),
    Invalid(input: "ghcr.io//a", reason: "invalid reference format"),
    Invalid(input: ":1.0", reason: "invalid reference format"),
    Invalid(input: "@sha256:" + sha256Hex, reason: "invalid reference format"),
    Invalid(input: "nginx::1", reason: "invalid reference format"),
    Invalid(input: "nginx@a@sha256:" + sha256Hex, reason: "invalid reference format"),
    Invalid(input: "-nginx", reason: "invalid reference format"),
    Invalid(input: "nginx-", reason: "invalid reference format"),
    Invalid(input: "a..b", reason: "invalid reference format"),
    Invalid(input: "a___b", reason: "invalid reference format"),
    Invalid(input: "a/b:c:d", reason: "invalid reference format"),
    Invalid(input: "nginx:1.0/foo", reason: "invalid reference format"),
    Invalid(input: "localhost:/app", reason: "invalid reference format"),
    Invalid(input: "localhost:50a0/app", reason: "invalid reference format"),
    Invalid(input: ":5000/app", reason: "invalid reference format"),
    Invalid(input: "-ghcr.io/app", reason: "invalid reference format"),
    Invalid(input: "ghcr-.io/app", reason: "invalid reference format"),
    Invalid(input: "ghcr..io/app", reason: "invalid reference format"),
    Invalid(input: "[::1/app", reason: "invalid reference format"),
    Invalid(input: "[]/app", reason: "invalid reference format"),
    Invalid(input: "[fe80::1%eth0]/app", reason: "invalid reference format"),
    Invalid(input: "[::1]:/app", reason: "invalid reference format"),
    Invalid(input: "[::1]", reason: "invalid reference format"),
    Invalid(input: "ngïnx", reason: "invalid reference format"),
    Invalid(input: "nginx\u{0}", reason: "invalid reference format"),
    Invalid(input: String(repeating: "a", count: 238),
            reason: "repository name must not be longer than 255 characters"),
    Invalid(input: "ghcr.io/" + String(repeating: "a", count: 248),
            reason: "repository name must not be longer than 255 characters"),
    Invalid(input: String(repeating: "a", count: 300) + ":v1",
            reason: "repository name must not be longer than 255 characters"),
]

@Suite("ImageReference")
struct ImageReferenceTests {
    @Test("valid references normalise like containerd", arguments: validCases)
    func parsesValidReference(_ expected: ImageReferenceValidCase) throws {
        let reference = try ImageReference(parsing: expected.input)
        #expect(reference.registry == expected.registry)
        #expect(reference.repository == expected.repository)
        #expect(reference.tag == expected.tag)
        #expect(reference.digest == expected.digest)
        #expect(reference.name == expected.name)
        #expect(reference.description == expected.description)
        #expect("\(reference)" == expected.description)
    }

    @Test("valid references are already normalised in their description", arguments: validCases)
    func normalisationIsIdempotent(_ expected: ImageReferenceValidCase) throws {
        let reference = try ImageReference(parsing: expected.input)
        let reparsed = try ImageReference(parsing: reference.description)
        #expect(reparsed == reference)
        #expect(reparsed.description == reference.description)
    }

    @Test("invalid references are rejected with a reason", arguments: invalidCases)
    func rejectsInvalidReference(_ expected: ImageReferenceInvalidCase) {
        #expect(throws: ImageReferenceError(reference: expected.input, reason: expected.reason)) {
            try ImageReference(parsing: expected.input)
        }
    }

    @Test func errorDescriptionQuotesTheInput() {
        do {
            _ = try ImageReference(parsing: "Nginx")
            Issue.record("expected an error")
        } catch {
            #expect(error.reference == "Nginx")
            #expect(error.reason == "repository name must be lowercase")
            #expect(error.description == #"invalid image reference "Nginx": repository name must be lowercase"#)
        }
    }

    @Test func equalReferencesHashEqually() throws {
        let short = try ImageReference(parsing: "nginx")
        let long = try ImageReference(parsing: "index.docker.io/library/nginx:latest")
        #expect(short == long)
        #expect(Set([short, long]).count == 1)
        #expect(short != (try ImageReference(parsing: "nginx:1.27")))
    }

    @Test("huge inputs are handled in linear time")
    func hugeInputs() {
        let huge = [
            String(repeating: "a", count: 1_000_000),
            String(repeating: "a/", count: 500_000) + "a",
            String(repeating: "a-", count: 500_000) + "a",
            String(repeating: ":", count: 1_000_000),
            String(repeating: "@", count: 1_000_000),
            String(repeating: "/", count: 1_000_000),
            "nginx:" + String(repeating: "1", count: 1_000_000),
            "nginx@sha256:" + String(repeating: "a", count: 1_000_000),
            String(repeating: "a.", count: 500_000) + "a/b",
        ]
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            for text in huge {
                #expect(throws: ImageReferenceError.self) { try ImageReference(parsing: text) }
            }
        }
        #expect(elapsed < .seconds(10))
    }

    @Test("random inputs never crash and normalise idempotently")
    func randomInputs() throws {
        let alphabet = [
            "a", "b", "z", "0", "1", "9", "/", "/", ":", ":", "@", ".", "-", "--", "_", "__", "A", "Z",
            "sha256", "sha512", "sha256:", sha256Hex, sha512Hex, "[", "]", "::1", "localhost", "docker.io",
            "index.docker.io", "library", "5000", "latest", " ", "+", "é",
        ]
        var generator = SplitMix64(seed: 0x5EED_1234_ABCD_0001)
        var accepted = 0
        for _ in 0..<2_000 {
            let length = Int.random(in: 0...12, using: &generator)
            var text = ""
            for _ in 0..<length {
                text += alphabet.randomElement(using: &generator) ?? ""
            }
            let reference: ImageReference
            do {
                reference = try ImageReference(parsing: text)
            } catch {
                #expect(error.reference == text)
                #expect(!error.reason.isEmpty)
                continue
            }
            accepted += 1
            #expect(!reference.registry.isEmpty)
            #expect(!reference.repository.isEmpty)
            #expect(reference.tag != nil || reference.digest != nil)
            let reparsed = try ImageReference(parsing: reference.description)
            #expect(reparsed == reference, "\(text) → \(reference) → \(reparsed)")
        }
        // The alphabet is chosen so that a fair share of inputs are valid references.
        #expect(accepted > 50)
    }
}

