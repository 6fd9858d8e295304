import Foundation
import Testing
import TestSupport

extension CommandLineTests {
    /// `images`, `replay --registry --write-images` and `check --registry` against the registry fixture.
    @Suite("registry commands")
    struct RegistryCommands {
        let cli = CommandLineTests()

        static func registryFlags(_ fixture: RegistryFixture) -> [String] {
            ["--registry-allow-private", "--registry-allow-insecure", fixture.plain, "--registry-ca-file", fixture.caCertificate]
        }

        @Test func imagesPrintsDigestUserAndVerdictPerPlatform() throws {
            guard let fixture = RegistryFixture.required() else { return }
            let multiarch = try #require(fixture.images.first { $0.repository == "oci/users" && $0.tag == "multiarch" })
            let appApp = try #require(fixture.images.first { $0.repository == "v2s2/users" && $0.tag == "user-app-app" })
            let result = try cli.run(["images"] + Self.registryFlags(fixture) + [
                "\(fixture.plain)/oci/users:multiarch", "\(fixture.tls)/v2s2/users:user-app-app",
            ])
            #expect(result.status == 1, "\(result)")
            #expect(result.stdout == """
                \(fixture.plain)/oci/users:multiarch
                  reference: \(fixture.plain)/oci/users:multiarch
                  digest:    \(multiarch.digest) (index)
                  PLATFORM        USER          WITH runAsNonRoot: true
                  linux/amd64     "1000"        runs as uid 1000
                  linux/arm64/v8  "0"           refused: image will run as root
                \(fixture.tls)/v2s2/users:user-app-app
                  reference: \(fixture.tls)/v2s2/users:user-app-app
                  digest:    \(appApp.digest)
                  PLATFORM     USER          WITH runAsNonRoot: true
                  linux/amd64  "app:app"     refused: image has non-numeric user (app), cannot verify user is non-root

                """)
            #expect(result.stderr.isEmpty, "\(result.stderr)")

            let fine = try cli.run(["images"] + Self.registryFlags(fixture) + ["\(fixture.plain)/oci/users:user-65532"])
            #expect(fine.status == 0, "\(fine)")
            #expect(fine.stdout.hasSuffix("  linux/amd64  \"65532\"       runs as uid 65532\n"), "\(fine.stdout)")

            let missing = try cli.run(["images"] + Self.registryFlags(fixture) + ["\(fixture.plain)/oci/users:nope"])
            #expect(missing.status == 2)
            #expect(missing.stdout == "\(fixture.plain)/oci/users:nope\n  error: registry answered 404 Not Found to GET manifest nope: MANIFEST_UNKNOWN: manifest unknown\n")

            let ssrf = try cli.run(["images", "\(fixture.plain)/oci/users:user-0"])
            #expect(ssrf.status == 2)
            #expect(ssrf.stdout == "\(fixture.plain)/oci/users:user-0\n  error: registry address 127.0.0.1 is a loopback address; lookups there need --registry-allow-private\n")

            let badPlatform = try cli.run(["images", "--platform", "linux", "x"])
            #expect(badPlatform.status == 64)
            #expect(badPlatform.stderr.contains("--platform must be os/arch[/variant], got linux"), "\(badPlatform.stderr)")
        }

        /// The registry's answers written down as a catalog give the same decisions offline, byte for byte.
        @Test func replayWritesImagesThatReplayOffline() throws {
            guard let fixture = RegistryFixture.required() else { return }
            let reviews = [
                TestReviews.pod(uid: "r1", image: "\(fixture.plain)/oci/users:user-0"),
                TestReviews.pod(uid: "r2", image: "\(fixture.plain)/oci/users:multiarch"),
                TestReviews.pod(uid: "r3", image: "\(fixture.plain)/v2s2/users:user-1000-1000", images: ["\(fixture.plain)/oci/users:user-app"]),
                TestReviews.pod(uid: "r4", image: "\(fixture.plain)/oci/users:no-config-section"),
            ].joined(separator: "\n")
            let input = try cli.temporaryFile("reviews.jsonl", reviews + "\n")
            let catalog = URL(fileURLWithPath: input).deletingLastPathComponent().appendingPathComponent("images.yaml").path
            let online = try cli.run(["replay", input, "--registry", "--write-images", catalog, "--format", "json"] + Self.registryFlags(fixture))
            #expect(online.status == 1, "\(online)")
            #expect(online.stderr == "note: wrote 5 images to \(catalog)\n")
            let lines = online.stdout.split(separator: "\n")
            #expect(lines.count == 4)
            #expect(lines.first?.contains(#""allowed":false"#) == true)
            #expect(lines.dropFirst().first?.contains(#"(linux/arm64/v8) runs as root (USER 0)"#) == true, "\(online.stdout)")

            let written = try String(contentsOfFile: catalog, encoding: .utf8)
            let multiarch = try #require(fixture.images.first { $0.repository == "oci/users" && $0.tag == "multiarch" })
            #expect(written.contains("""
                  "\(fixture.plain)/oci/users:multiarch@\(multiarch.digest)":
                    "linux/amd64": "1000"
                    "linux/arm64/v8": "0"

                """), "\(written)")
            let user0 = try #require(fixture.images.first { $0.repository == "oci/users" && $0.tag == "user-0" })
            #expect(written.contains("  \"\(fixture.plain)/oci/users:user-0@\(user0.digest)\": \"0\"\n"), "\(written)")
            #expect(written.contains("oci/users:no-config-section@sha256:"), "\(written)")

            // No --registry now: the file alone answers, and the output is identical.
            let offline = try cli.run(["replay", input, "--images", catalog, "--format", "json"])
            #expect(offline.status == online.status)
            #expect(offline.stdout == online.stdout)
            #expect(offline.stderr.isEmpty, "\(offline.stderr)")
        }

        @Test func checkManifestsWithRegistryLookups() throws {
            guard let fixture = RegistryFixture.required() else { return }
            let manifest = try cli.temporaryFile("deploy.yaml", """
                apiVersion: apps/v1
                kind: Deployment
                metadata: {name: api, namespace: shop}
                spec:
                  selector: {matchLabels: {app: api}}
                  template:
                    metadata: {labels: {app: api}}
                    spec:
                      securityContext: {runAsNonRoot: true}
                      containers:
                      - {name: api, image: "\(fixture.plain)/v2s2/users:user-root"}
                      - {name: sidecar, image: "\(fixture.plain)/oci/users:user-65532"}

                """)
            let result = try cli.run(["check", manifest, "--registry"] + Self.registryFlags(fixture))
            #expect(result.status == 1, "\(result)")
            #expect(result.stdout.contains("    container has runAsNonRoot and image has non-numeric user (root), cannot verify user is non-root (deployment: \"shop/api\", container: api)\n"), "\(result.stdout)")
            #expect(!result.stdout.contains("container: sidecar"), "\(result.stdout)")
        }
    }
}
