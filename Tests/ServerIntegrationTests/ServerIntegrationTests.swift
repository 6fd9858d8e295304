import Foundation
import Testing
import TestSupport

/// Real `nonroot-admission serve` processes on 127.0.0.1, driven by curl, nghttp, h2load and openssl.
///
/// Serialized: several tests measure latencies (shutdown, timeouts) that a neighbour's load would blur,
/// and the machine has two cores. Each test starts its own server on ephemeral ports, in its own temp dirs.
@Suite(.serialized)
struct ServerIntegrationTests {}

enum Examples {
    static let directory = TestPaths.packageRoot.appendingPathComponent("Examples/reviews")

    /// The example reviews, in path order (the order replay prints them).
    static var reviews: [URL] { TestPaths.files(in: directory, withExtension: "json") }

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    static let allowed = path("01-allowed-numeric-user.json")
    static let denied = path("02-denied-image-runs-as-root.json")

    /// `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":…}` for a response text.
    static func reviewBody(_ response: String) -> String {
        #"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":"# + response + "}"
    }
}

/// A normal review on a new connection gets 200 and an AdmissionReview: the server is alive and not stalled.
func expectServing(_ server: ServerProcess, _ comment: String = "", sourceLocation: SourceLocation = #_sourceLocation) async throws {
    let exchange = try await Curl.review(server, Examples.allowed)
    #expect(exchange.exitCode == 0, "\(comment): \(exchange)\n\(server.logTail)", sourceLocation: sourceLocation)
    #expect(exchange.status == 200, "\(comment): \(exchange)", sourceLocation: sourceLocation)
    #expect(exchange.bodyText == Examples.reviewBody(#"{"uid":"0f6e3c6a-1b52-4f8e-9d0a-6a1f3e9b2c01","allowed":true}"#),
            "\(comment)", sourceLocation: sourceLocation)
    #expect(server.isRunning, "\(comment): the server exited", sourceLocation: sourceLocation)
}

/// `{"kind":"Status",…}` exactly as the server writes a refusal.
func statusBody(_ code: Int, _ reason: String, _ message: String) -> String {
    let quoted = String(decoding: try! JSONSerialization.data(withJSONObject: message, options: .fragmentsAllowed), as: UTF8.self)
        .replacingOccurrences(of: "\\/", with: "/")
    return #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"# + quoted + #","reason":""# + reason + #"","code":"# + String(code) + "}"
}

extension HTTPVersion: CustomTestStringConvertible {
    var testDescription: String { self == .http1 ? "HTTP/1.1" : "HTTP/2" }
}

extension ServerIntegrationTests {
    @Suite("answers")
    struct Answers {
        /// Every example, over each protocol, is answered exactly as `replay --format json` decides it.
        @Test(arguments: [HTTPVersion.http1, .http2])
        func examplesMatchReplay(version: HTTPVersion) async throws {
            let certificates = try TestCertificates.get()
            let replayed = try await Replay.responses("Examples/reviews")
            #expect(replayed.count == 6)
            #expect(replayed.map(\.source) == Examples.reviews.map { "Examples/reviews/" + $0.lastPathComponent })
            try await ServerProcess.with(cert: certificates.serverA.cert, key: certificates.serverA.key) { server in
                for (source, expected) in replayed {
                    let exchange = try await Curl.review(server, TestPaths.packageRoot.appendingPathComponent(source).path, version: version)
                    #expect(exchange.exitCode == 0, "\(source): \(exchange)")
                    #expect(exchange.statusLine == (version == .http1 ? "HTTP/1.1 200 OK" : "HTTP/2 200"), "\(source)")
                    #expect(exchange.header("content-type") == "application/json", "\(source)")
                    #expect(exchange.header("content-length") == String(exchange.body.count), "\(source)")
                    #expect(JSONMember.response(inReview: exchange.bodyText) == expected, "\(source)")
                    #expect(exchange.bodyText == Examples.reviewBody(expected), "\(source)")
                }
                // One decision line per review, over the protocol used. The line is written just after the
                // response, so give the last one a moment to land.
                var decisions: [[String: Any]] = []
                let deadline = ContinuousClock.now + .seconds(3)
                repeat {
                    decisions = server.logRecords.filter { $0["message"] as? String == "admission decision" }
                    if decisions.count >= replayed.count { break }
                    try await Task.sleep(for: .milliseconds(20))
                } while ContinuousClock.now < deadline
                #expect(decisions.count == replayed.count)
                #expect(decisions.allSatisfy { $0["protocol"] as? String == (version == .http1 ? "http/1.1" : "h2") })
            }
        }

        /// `/validate/dry-run` never denies; `/validate/enforce` denies even on a `--mode dry-run` server.
        @Test func pathsForceTheMode() async throws {
            let certificates = try TestCertificates.get()
            let dryRun = try #require(try await Replay.responses(Examples.denied, mode: "dry-run").first?.response)
            let enforce = try #require(try await Replay.responses(Examples.denied).first?.response)
            #expect(dryRun.contains(#""allowed":true"#))
            #expect(dryRun.contains(#""auditAnnotations":{"would-deny":"container has runAsNonRoot and image will run as root (pod: \"web-5d8f7c9b4-7hm2p_shop(3c1f2a44-8b0e-4c5d-9e6f-0a1b2c3d4e02)\", container: nginx)"}"#))
            #expect(enforce.contains(#""allowed":false"#))

            try await ServerProcess.with(cert: certificates.serverA.cert, key: certificates.serverA.key) { server in
                let forced = try await Curl.review(server, Examples.denied, path: "/validate/dry-run")
                #expect(forced.status == 200)
                #expect(forced.bodyText == Examples.reviewBody(dryRun))
                let plain = try await Curl.review(server, Examples.denied)
                #expect(plain.bodyText == Examples.reviewBody(enforce))
            }
            try await ServerProcess.with(cert: certificates.serverA.cert, key: certificates.serverA.key, ["--mode", "dry-run"]) { server in
                let forced = try await Curl.review(server, Examples.denied, path: "/validate/enforce", version: .http2)
                #expect(forced.status == 200)
                #expect(forced.bodyText == Examples.reviewBody(enforce))
                let plain = try await Curl.review(server, Examples.denied, version: .http2)
                #expect(plain.bodyText == Examples.reviewBody(dryRun))
                // The apiserver's ?timeout= query does not change the path.
                let withQuery = try await Curl.review(server, Examples.denied, path: "/validate/enforce?timeout=10s")
                #expect(withQuery.bodyText == Examples.reviewBody(enforce))
            }
        }
    }

    @Suite("ALPN and TLS versions")
    struct Negotiation {
        @Test func alpnSelectsTheProtocol() async throws {
            let certificates = try TestCertificates.get()
            try await ServerProcess.with(cert: certificates.serverA.cert, key: certificates.serverA.key) { server in
                let h2 = try await Curl.review(server, Examples.allowed, version: .http2)
                #expect(h2.trace.contains("ALPN: offers h2,http/1.1"), "\(h2)")
                #expect(h2.trace.contains("ALPN: server accepted h2"), "\(h2)")
                #expect(h2.trace.contains("< HTTP/2 200"), "\(h2)")
                #expect(h2.statusLine == "HTTP/2 200")

                let h1 = try await Curl.review(server, Examples.allowed, version: .http1)
                #expect(h1.trace.contains("ALPN: offers http/1.1"), "\(h1)")
                #expect(h1.trace.contains("ALPN: server accepted http/1.1"), "\(h1)")
                #expect(h1.statusLine == "HTTP/1.1 200 OK")

                // nghttp speaks only h2, with its own HTTP/2 stack.
                let nghttp = try await Command.run("nghttp", [
                    "-nv", "-d", Examples.allowed, "-H", "content-type: application/json", server.url(),
                ])
                #expect(nghttp.exited && nghttp.status == 0, "\(nghttp)")
                #expect(nghttp.output.contains("The negotiated protocol: h2"), "\(nghttp)")
                #expect(nghttp.output.contains(":status: 200"), "\(nghttp)")
                // Without -n nghttp prints the body; it is the same AdmissionReview as over curl.
                let withBody = try await Command.run("nghttp", ["-d", Examples.allowed, "-H", "content-type: application/json", server.url()])
                #expect(withBody.exited && withBody.status == 0, "\(withBody)")
                #expect(withBody.stdout == Examples.reviewBody(#"{"uid":"0f6e3c6a-1b52-4f8e-9d0a-6a1f3e9b2c01","allowed":true}"#), "\(withBody)")
            }
        }

        /// TLS 1.0 and 1.1 are refused by the server (the client is allowed to try, at SECLEVEL 0); 1.2 and 1.3 work.
        @Test func onlyTLS12And13() async throws {
            let certificates = try TestCertificates.get()
            try await ServerProcess.with(cert: certificates.serverA.cert, key: certificates.serverA.key) { server in
                for version in ["-tls1", "-tls1_1"] {
                    let result = try await SClient.connect(port: server.port, [version, "-cipher", "DEFAULT@SECLEVEL=0", "-CAfile", certificates.ca])
                    #expect(result.exited && result.status != 0, "\(version): \(result)")
                    // The server's protocol_version alert: proof that the client did offer the old version.
                    #expect(result.output.contains("alert protocol version"), "\(version): \(result)")
                    #expect(!SClient.handshakeSucceeded(result), "\(version): \(result)")
                }
                for (flag, name) in [("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")] {
                    let result = try await SClient.connect(port: server.port, [flag, "-CAfile", certificates.ca])
                    #expect(result.exited && result.status == 0, "\(flag): \(result)")
                    #expect(result.output.contains("Protocol  : \(name)") || result.output.contains("New, \(name),"), "\(flag): \(result)")
                    #expect(SClient.handshakeSucceeded(result) && result.output.contains("Verify return code: 0 (ok)"), "\(flag): \(result)")
                    #expect(result.output.contains("subject=CN = \(TestCertificates.serverACommonName)"), "\(flag): \(result)")
                }
                // TLS 1.2 offers only ECDHE with AEAD: a CBC-only client is refused.
                let cbc = try await SClient.connect(port: server.port, ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA256", "-CAfile", certificates.ca])
                #expect(cbc.exited && cbc.status != 0, "\(cbc)")
                #expect(cbc.output.contains("handshake failure") || cbc.output.contains("no shared cipher"), "\(cbc)")

                let alpn = try await SClient.connect(port: server.port, ["-alpn", "h2,http/1.1", "-CAfile", certificates.ca])
                #expect(alpn.exited && alpn.status == 0, "\(alpn)")
                #expect(alpn.output.contains("ALPN protocol: h2"), "\(alpn)")
                let http1 = try await SClient.connect(port: server.port, ["-alpn", "http/1.1", "-CAfile", certificates.ca])
                #expect(http1.output.contains("ALPN protocol: http/1.1"), "\(http1)")
                try await expectServing(server)
            }
        }
    }
}
