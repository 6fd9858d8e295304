import Foundation
import Testing
import TestSupport

extension ServerIntegrationTests {
    /// `serve --registry` against the real registries of scripts/registry-fixture.sh: no catalog entry,
    /// the image's USER comes from its registry.
    @Suite("registry lookups through serve")
    struct RegistryServe {
        static func arguments(_ fixture: RegistryFixture, _ extra: [String] = []) -> [String] {
            [
                "--registry", "--registry-allow-private", "--registry-allow-insecure", "\(fixture.plain),\(fixture.faults)",
                "--registry-ca-file", fixture.caCertificate, "--registry-timeout", "2s",
            ] + extra
        }

        static func post(_ server: ServerProcess, _ review: String, path: String = "/validate", version: HTTPVersion = .http1) async throws -> HTTPExchange {
            try await Curl.request(server.url(path), version: version, body: .text(review))
        }

        static let suffix = #"(pod: \"web_shop(pod-uid)\", container: app)"#

        @Test(arguments: [
            ("user-unset", "container has runAsNonRoot and image will run as root \(suffix)"),
            ("user-empty", "container has runAsNonRoot and image will run as root \(suffix)"),
            ("no-config-section", "container has runAsNonRoot and image will run as root \(suffix)"),
            ("user-0", "container has runAsNonRoot and image will run as root \(suffix)"),
            ("user-0-0", "container has runAsNonRoot and image will run as root \(suffix)"),
            ("user-root", "container has runAsNonRoot and image has non-numeric user (root), cannot verify user is non-root \(suffix)"),
            ("user-app-app", "container has runAsNonRoot and image has non-numeric user (app), cannot verify user is non-root \(suffix)"),
        ])
        func rootImagesAreDeniedWithTheKubeletsSentence(tag: String, sentence: String) async throws {
            guard let fixture = RegistryFixture.required() else { return }
            let certificates = try TestCertificates.get()
            try await ServerProcess.with(cert: certificates.serverA.cert, key: certificates.serverA.key, Self.arguments(fixture)) { server in
                for format in ["oci", "v2s2"] {
                    let image = "\(fixture.plain)/\(format)/users:\(tag)"
                    let exchange = try await Self.post(server, TestReviews.pod(uid: "u-\(tag)", image: image))
                    #expect(exchange.status == 200, "\(exchange)\n\(server.logTail)")
                    let body = exchange.bodyText
                    #expect(body.hasPrefix(#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"u-\#(tag)","allowed":false,"status":{"status":"Failure","message":"\#(sentence)","reason":"Forbidden","code":403},"warnings":["#), "\(body)")
                }
            }
        }

        @Test func numericNonRootImagesAreAllowed() async throws {
            guard let fixture = RegistryFixture.required() else { return }
            let certificates = try TestCertificates.get()
            try await ServerProcess.with(cert: certificates.serverA.cert, key: certificates.serverA.key, Self.arguments(fixture)) { server in
                for image in ["\(fixture.plain)/oci/users:user-1000", "\(fixture.plain)/v2s2/users:user-1000-1000", "\(fixture.tls)/oci/users:user-65532", "\(fixture.plain)/app"] {
                    let exchange = try await Self.post(server, TestReviews.pod(uid: "u-ok", image: image), version: .http2)
                    #expect(exchange.status == 200, "\(exchange)")
                    #expect(exchange.bodyText == Examples.reviewBody(#"{"uid":"u-ok","allowed":true}"#), "\(image): \(exchange.bodyText)")
                }
            }
        }

        /// Platforms disagree: the pod is judged by its worst one, and the hint names it.
        @Test func multiArchitectureImageIsJudgedByItsWorstPlatform() async throws {
            guard let fixture = RegistryFixture.required() else { return }
            let certificates = try TestCertificates.get()
            try await ServerProcess.with(cert: certificates.serverA.cert, key: certificates.serverA.key, Self.arguments(fixture)) { server in
                let image = "\(fixture.plain)/oci/users:multiarch"
                let exchange = try await Self.post(server, TestReviews.pod(uid: "u-multi", image: image))
                #expect(exchange.bodyText == Examples.reviewBody(
                    #"{"uid":"u-multi","allowed":false,"status":{"status":"Failure","message":"container has runAsNonRoot and image will run as root \#(Self.suffix)","reason":"Forbidden","code":403},"warnings":["container \"app\": image \#(image) (linux/arm64/v8) runs as root (USER 0); set a numeric non-root USER (e.g. 65532) in its Dockerfile or set securityContext.runAsUser"]}"#),
                    "\(exchange.bodyText)")
            }
            // Restricted to the cluster's amd64 nodes, the same image is fine.
            try await ServerProcess.with(cert: certificates.serverA.cert, key: certificates.serverA.key, Self.arguments(fixture, ["--platform", "linux/amd64"])) { server in
                let exchange = try await Self.post(server, TestReviews.pod(uid: "u-amd", image: "\(fixture.plain)/oci/users:multiarch"))
                #expect(exchange.bodyText == Examples.reviewBody(#"{"uid":"u-amd","allowed":true}"#), "\(exchange.bodyText)")
            }
        }

        /// A registry that hangs: the answer still comes before the apiserver's `?timeout=`, and
        /// `--unresolved` decides. Several images resolve concurrently, so two hangs cost one wait.
        @Test func hangingRegistryIsAnsweredBeforeTheApiserversTimeout() async throws {
            guard let fixture = RegistryFixture.required() else { return }
            let certificates = try TestCertificates.get()
            let hang = "\(fixture.faults)/fault/hang/oci/users:user-0"
            let hang2 = "\(fixture.faults)/fault/hang/v2s2/users:user-0"
            try await ServerProcess.with(cert: certificates.serverA.cert, key: certificates.serverA.key, Self.arguments(fixture)) { server in
                let exchange = try await Self.post(server, TestReviews.pod(uid: "u-hang", image: hang, images: [hang2]), path: "/validate?timeout=2s")
                #expect(exchange.status == 200, "\(exchange)")
                #expect(exchange.elapsed < .milliseconds(2000), "\(exchange.elapsed)")
                #expect(exchange.elapsed >= .milliseconds(1400), "\(exchange.elapsed)")
                #expect(exchange.bodyText == Examples.reviewBody(
                    #"{"uid":"u-hang","allowed":true,"warnings":["container \"app\": cannot verify the USER of image \#(hang): registry lookup timed out after 1500ms; allowed by --unresolved=warn","container \"app1\": cannot verify the USER of image \#(hang2): registry lookup timed out after 1500ms; allowed by --unresolved=warn"]}"#),
                    "\(exchange.bodyText)")
            }
            try await ServerProcess.with(cert: certificates.serverA.cert, key: certificates.serverA.key, Self.arguments(fixture, ["--unresolved", "deny"])) { server in
                let limited = "\(fixture.faults)/fault/429/oci/users:user-1000"
                let exchange = try await Self.post(server, TestReviews.pod(uid: "u-429", image: limited), path: "/validate?timeout=1s")
                #expect(exchange.status == 200, "\(exchange)")
                #expect(exchange.bodyText.hasPrefix(Examples.reviewBody(
                    #"{"uid":"u-429","allowed":false,"status":{"status":"Failure","message":"container has runAsNonRoot and the USER of image \"\#(limited)\" cannot be determined (registry answered 429 Too Many Requests to GET manifest user-1000: TOOMANYREQUESTS: rate limit exceeded (injected by registry-fixture) (Retry-After: 1)) \#(Self.suffix)","reason":"Forbidden","code":403}"#).dropLast(2)),
                    "\(exchange.bodyText)")
            }
        }

        @Test func lookupMetrics() async throws {
            guard let fixture = RegistryFixture.required() else { return }
            let certificates = try TestCertificates.get()
            try await ServerProcess.with(cert: certificates.serverA.cert, key: certificates.serverA.key, Self.arguments(fixture)) { server in
                for uid in ["m1", "m2", "m3"] {
                    _ = try await Self.post(server, TestReviews.pod(uid: uid, image: "\(fixture.plain)/oci/users:user-65532"))
                }
                _ = try await Self.post(server, TestReviews.pod(uid: "m4", image: "\(fixture.plain)/oci/users:nope"))
                let metrics = try PlainHTTP.metrics(port: server.metricsPort)
                #expect(metrics.contains(#"nonroot_admission_registry_lookups_total{result="found"} 3"#), "\(metrics)")
                #expect(metrics.contains(#"nonroot_admission_registry_lookups_total{result="unresolved"} 1"#), "\(metrics)")
                #expect(metrics.contains(#"nonroot_admission_registry_cache_total{cache="tag",result="hit"} 2"#), "\(metrics)")
                #expect(metrics.contains(#"nonroot_admission_registry_cache_total{cache="tag",result="miss"} 2"#), "\(metrics)")
                #expect(metrics.contains(#"nonroot_admission_registry_requests_total{kind="manifest",status="2xx"} 1"#), "\(metrics)")
                #expect(metrics.contains(#"nonroot_admission_registry_requests_total{kind="manifest",status="4xx"} 1"#), "\(metrics)")
                #expect(metrics.contains(#"nonroot_admission_registry_requests_total{kind="blob",status="2xx"} 1"#), "\(metrics)")
                #expect(metrics.contains(#"nonroot_admission_registry_lookups_in_flight 0.0"#), "\(metrics)")
                #expect(metrics.contains(#"nonroot_admission_registry_lookup_duration_seconds_count 4"#), "\(metrics)")
            }
        }
    }
}
