import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

extension ServerIntegrationTests {
    @Suite("metrics, health and readiness")
    struct Operations {
        @Test func requestCountersAndHistogram() async throws {
            let certificates = try TestCertificates.get()
            try await ServerProcess.with(cert: certificates.serverA.cert, key: certificates.serverA.key) { server in
                let ready = try PlainHTTP.get(port: server.metricsPort, "/readyz")
                #expect(ready.status == 200 && ready.body == "ok\n" && ready.header("content-type") == "text/plain; charset=utf-8", "\(ready)")
                let healthy = try PlainHTTP.get(port: server.metricsPort, "/healthz")
                #expect(healthy.status == 200 && healthy.body == "ok\n", "\(healthy)")

                // 2 allowed, 3 denied (two Pods, one Deployment), 1 dry-run that would deny.
                for name in ["01-allowed-numeric-user.json", "04-allowed-runasuser-overrides-image.json",
                             "02-denied-image-runs-as-root.json", "03-denied-non-numeric-user.json", "05-denied-deployment-template.json"] {
                    let exchange = try await Curl.review(server, Examples.path(name))
                    #expect(exchange.status == 200, "\(name): \(exchange)")
                }
                #expect(try await Curl.review(server, Examples.denied, path: "/validate/dry-run", version: .http2).status == 200)
                #expect(try await Curl.request(server.url(), contentType: nil).status == 405)

                let response = try PlainHTTP.get(port: server.metricsPort, "/metrics")
                #expect(response.status == 200)
                #expect(response.header("content-type") == "text/plain; version=0.0.4; charset=utf-8")
                let lines = response.body.split(separator: "\n").map(String.init)
                let expected = [
                    #"nonroot_admission_requests_total{decision="allowed",mode="enforce",kind="Pod",operation="CREATE"} 2"#,
                    #"nonroot_admission_requests_total{decision="denied",mode="enforce",kind="Pod",operation="CREATE"} 2"#,
                    #"nonroot_admission_requests_total{decision="denied",mode="enforce",kind="Deployment",operation="CREATE"} 1"#,
                    #"nonroot_admission_requests_total{decision="would_deny",mode="dry-run",kind="Pod",operation="CREATE"} 1"#,
                    #"nonroot_admission_http_rejections_total{code="405"} 1"#,
                    #"nonroot_admission_build_info{version="0.1.0"} 1.0"#,
                    #"nonroot_admission_request_duration_seconds_count 6"#,
                    #"nonroot_admission_request_duration_seconds_bucket{le="+Inf"} 6"#,
                    #"nonroot_admission_connections_rejected_total 0"#,
                    #"nonroot_admission_tls_reloads_total{source="certificate",result="failure"} 0"#,
                    "# TYPE nonroot_admission_requests_total counter",
                    "# TYPE nonroot_admission_request_duration_seconds histogram",
                ]
                for line in expected {
                    #expect(lines.contains(line), "missing \(line) in:\n\(response.body)")
                }
                #expect(lines.filter { $0.hasPrefix("nonroot_admission_requests_total{") }.count == 4, "\(response.body)")
                // The sub-millisecond buckets, in order, cumulative, ending at 6.
                let buckets = lines.filter { $0.hasPrefix("nonroot_admission_request_duration_seconds_bucket{") }
                let bounds = buckets.compactMap { line -> String? in
                    guard let start = line.range(of: #"le=""#), let end = line[start.upperBound...].firstIndex(of: "\"") else { return nil }
                    return String(line[start.upperBound..<end])
                }
                #expect(bounds == ["0.00005", "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0", "30.0", "+Inf"], "\(buckets)")
                let counts = buckets.compactMap { Int($0.split(separator: " ").last ?? "") }
                #expect(counts == counts.sorted() && counts.last == 6, "\(buckets)")

                // Plain HTTP etiquette on the operations port.
                #expect(try PlainHTTP.get(port: server.metricsPort, "/nope").status == 404)
                #expect(try PlainHTTP.get(port: server.metricsPort, "/metrics", method: "POST").status == 405)
                let head = try PlainHTTP.get(port: server.metricsPort, "/healthz", method: "HEAD")
                #expect(head.status == 200 && head.body.isEmpty && head.header("content-length") == "3", "\(head)")
            }
        }
    }

    @Suite("recording")
    struct Recording {
        @Test func recordsReplayToTheSameAnswersAndAreRedacted() async throws {
            let certificates = try TestCertificates.get()
            let scratch = try TemporaryDirectory()
            let records = scratch.file("records")
            try await ServerProcess.with(cert: certificates.serverA.cert, key: certificates.serverA.key, ["--record-dir", records]) { server in
                for review in Examples.reviews {
                    #expect(try await Curl.review(server, review.path).status == 200)
                }
                let files = try await waitForRecords(in: records, count: 6)
                #expect(files.count == 6, "\(files)\n\(server.logTail)")
                #expect(files.allSatisfy { $0.hasSuffix(".json") })

                let original = try await Replay.responses("Examples/reviews").map(\.response)
                let replayed = try await Replay.responses(records).map(\.response)
                #expect(replayed == original)

                // A review with a secret in an env value and in the last-applied annotation.
                let secret = try scratch.write("secret.json", Self.secretReview)
                let answer = try await Curl.review(server, secret)
                #expect(answer.bodyText == Examples.reviewBody(#"{"uid":"5ec7e700-0000-4000-8000-000000000001","allowed":true}"#), "\(answer)")
                let withSecret = try await waitForRecords(in: records, count: 7)
                let newest = try #require(Set(withSecret).subtracting(files).first)
                let recorded = try String(contentsOfFile: "\(records)/\(newest)", encoding: .utf8)
                #expect(!recorded.contains("hunter2"), "\(recorded)")
                #expect(!recorded.contains("hunter3"), "\(recorded)")
                // Only the allowlist is recorded: no env, no annotations.
                #expect(!recorded.contains("SECRET") && !recorded.contains("annotations"), "\(recorded)")
                #expect(recorded.contains(#""containers":[{"name":"api","image":"ghcr.io/acme/api:2.4.1"}]"#), "\(recorded)")
                #expect(recorded.hasSuffix(#","response":{"uid":"5ec7e700-0000-4000-8000-000000000001","allowed":true}}"#) || recorded.hasSuffix(#","response":{"uid":"5ec7e700-0000-4000-8000-000000000001","allowed":true}}"# + "\n"), "\(recorded)")
                let replayedSecret = try await Replay.responses("\(records)/\(newest)")
                #expect(replayedSecret.map(\.response) == [#"{"uid":"5ec7e700-0000-4000-8000-000000000001","allowed":true}"#])
            }
        }

        static let secretReview = """
            {"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"5ec7e700-0000-4000-8000-000000000001",
            "kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},
            "name":"secret-pod","namespace":"shop","operation":"CREATE","userInfo":{"username":"alice@example.com"},
            "object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"secret-pod","namespace":"shop","uid":"5ec7e700-1111-4000-8000-000000000001",
            "annotations":{"team":"shop","kubectl.kubernetes.io/last-applied-configuration":"{\\"spec\\":{\\"containers\\":[{\\"env\\":[{\\"name\\":\\"SECRET\\",\\"value\\":\\"hunter3\\"}]}]}}"}},
            "spec":{"securityContext":{"runAsNonRoot":true},"containers":[{"name":"api","image":"ghcr.io/acme/api:2.4.1",
            "env":[{"name":"SECRET","value":"hunter2"}]}]}},"oldObject":null,"dryRun":false}}
            """
    }

    @Suite("configuration from the environment")
    struct Environment {
        @Test func variablesReplaceFlagsAndFlagsWin() async throws {
            let certificates = try TestCertificates.get()
            let environment = [
                "NONROOT_ADMISSION_TLS_CERT_FILE": certificates.serverA.cert,
                "NONROOT_ADMISSION_TLS_KEY_FILE": certificates.serverA.key,
                "NONROOT_ADMISSION_LISTEN": "127.0.0.1:0",
                "NONROOT_ADMISSION_METRICS_LISTEN": "127.0.0.1:0",
                "NONROOT_ADMISSION_IMAGES": "Examples/images.yaml",
                "NONROOT_ADMISSION_MODE": "dry-run",
                "NONROOT_ADMISSION_CLIENT_CA_FILE": certificates.clientCA,
                "NONROOT_ADMISSION_SHUTDOWN_DELAY": "0s",
            ]
            let server = try await ServerProcess.start(arguments: ["serve"], environment: environment)
            defer { server.kill() }
            let serving = try #require(server.logRecords.first { $0["message"] as? String == "serving" })
            #expect(serving["mode"] as? String == "dry-run")
            #expect(serving["mTLS"] as? String == "true")
            #expect(serving["catalogImages"] as? String == "5")
            let dryRun = try #require(try await Replay.responses(Examples.denied, mode: "dry-run").first?.response)
            let answer = try await Curl.review(server, Examples.denied, clientCertificate: certificates.client)
            #expect(answer.bodyText == Examples.reviewBody(dryRun), "\(answer)")
            #expect(try await Curl.review(server, Examples.denied).status == nil, "the client CA from the environment is not enforced")
            server.terminate()
            #expect(await server.waitForExit(timeout: .seconds(3)) == 0, "NONROOT_ADMISSION_SHUTDOWN_DELAY=0s was not applied")

            // A flag beats its variable.
            let flagged = try await ServerProcess.start(arguments: ["serve", "--mode", "enforce"], environment: environment)
            defer { flagged.kill() }
            let enforce = try #require(try await Replay.responses(Examples.denied).first?.response)
            let denied = try await Curl.review(flagged, Examples.denied, clientCertificate: certificates.client)
            #expect(denied.bodyText == Examples.reviewBody(enforce), "\(denied)")
        }
    }
}

/// Waits until `directory` holds at least `count` `.json` files; returns their names, sorted.
func waitForRecords(in directory: String, count: Int, timeout: Duration = .seconds(5)) async throws -> [String] {
    let deadline = ContinuousClock.now + timeout
    var names: [String] = []
    repeat {
        names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.sorted()
        if names.count >= count { break }
        try await Task.sleep(for: .milliseconds(20))
    } while ContinuousClock.now < deadline
    return names
}
