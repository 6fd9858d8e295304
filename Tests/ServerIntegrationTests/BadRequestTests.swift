import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

extension ServerIntegrationTests {
    /// Refusals: exact status, headers and `metav1.Status` bodies, and the server keeps serving after each.
    @Suite("bad requests")
    struct BadRequests {
        @Test func undecodableBodiesAre400() async throws {
            let certificates = try TestCertificates.get()
            try await ServerProcess.with(cert: certificates.serverA.cert, key: certificates.serverA.key) { server in
                let malformed = try await Curl.request(server.url(), body: .text("{\"apiVersion\": \"admission.k8s.io/v1\", \"kind\": }"))
                #expect(malformed.exitCode == 0, "\(malformed)")
                #expect(malformed.statusLine == "HTTP/1.1 400 Bad Request")
                #expect(malformed.header("content-type") == "application/json")
                #expect(malformed.header("content-length") == String(malformed.body.count))
                #expect(malformed.bodyText.hasPrefix(#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"invalid JSON at "#), "\(malformed)")
                #expect(malformed.bodyText.hasSuffix(#"","reason":"BadRequest","code":400}"#), "\(malformed)")
                try await expectServing(server, "after malformed JSON")

                let pod = try await Curl.request(server.url(), version: .http2, body: .text(#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"}}"#))
                #expect(pod.statusLine == "HTTP/2 400")
                #expect(pod.header("content-type") == "application/json")
                #expect(pod.bodyText == statusBody(400, "BadRequest", #"invalid AdmissionReview: not an AdmissionReview or AdmissionRequest (kind "Pod")"#), "\(pod)")
                try await expectServing(server, "after a Pod")

                let empty = try await Curl.request(server.url(), body: .text(""))
                #expect(empty.status == 400, "\(empty)")
                #expect(empty.bodyText.hasPrefix(#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":""#), "\(empty)")
                try await expectServing(server, "after an empty body")
            }
        }

        /// What HTTP/1.1's parser refuses gets a `metav1.Status` too (NIO's own handler sends an empty 400),
        /// is counted, and closes only that connection.
        @Test func requestsTheHTTPParserRefusesAreAStatusAndCounted() async throws {
            let certificates = try TestCertificates.get()
            try await ServerProcess.with(cert: certificates.serverA.cert, key: certificates.serverA.key) { server in
                // 100 KiB in one header: over the parser's 80 KiB.
                let flood = try await Curl.request(server.url(), body: .file(Examples.allowed), headers: ["x-padding: " + String(repeating: "a", count: 100 << 10)])
                #expect(flood.statusLine == "HTTP/1.1 400 Bad Request", "\(flood)")
                #expect(flood.header("content-type") == "application/json")
                #expect(flood.header("content-length") == String(flood.body.count))
                #expect(flood.header("connection") == "close")
                #expect(flood.bodyText == statusBody(400, "BadRequest", "request headers are larger than 80 KiB"), "\(flood)")
                try await expectServing(server, "after a header flood")

                // A space inside a header name.
                let token = try await Curl.request(server.url(), body: .file(Examples.allowed), headers: ["bad header: x"])
                #expect(token.statusLine == "HTTP/1.1 400 Bad Request", "\(token)")
                #expect(token.bodyText == statusBody(400, "BadRequest", "malformed HTTP/1.1 request: invalid character in header"), "\(token)")
                try await expectServing(server, "after a bad header name")

                let metrics = try PlainHTTP.metrics(port: server.metricsPort)
                #expect(metrics.contains(#"nonroot_admission_http_rejections_total{code="400"} 2"#), "\(metrics)")
                #expect(server.logTail.contains(#""reason":"request headers are larger than 80 KiB""#), "\(server.logTail)")
            }
        }

        /// HEAD gets GET's head and no body (RFC 9110 §9.3.2). Over HTTP/2 a body would be a protocol error:
        /// the stream was reset (RST_STREAM) after the HEADERS frame.
        @Test func headHasNoBody() async throws {
            let certificates = try TestCertificates.get()
            try await ServerProcess.with(cert: certificates.serverA.cert, key: certificates.serverA.key) { server in
                let length = String(statusBody(405, "MethodNotAllowed", "method HEAD is not allowed on /validate; use POST").utf8.count)
                let h1 = try await Curl.request(server.url(), version: .http1, contentType: nil, extra: ["--head"])
                #expect(h1.exitCode == 0 && h1.statusLine == "HTTP/1.1 405 Method Not Allowed", "\(h1)")
                #expect(h1.header("content-length") == length && h1.header("allow") == "POST", "\(h1)")

                let h2 = try await Command.run("nghttp", ["-nv", "-H", ":method: HEAD", server.url()])
                #expect(h2.exited && h2.status == 0, "\(h2)")
                #expect(h2.output.contains(":status: 405") && h2.output.contains("content-length: \(length)"), "\(h2)")
                #expect(!h2.output.contains("RST_STREAM"), "\(h2)")
                #expect(!h2.output.contains("recv DATA frame <length=\(length)"), "\(h2)")
                try await expectServing(server, "after HEAD")
            }
        }

        @Test(arguments: [HTTPVersion.http1, .http2])
        func methodPathAndMediaType(version: HTTPVersion) async throws {
            let certificates = try TestCertificates.get()
            try await ServerProcess.with(cert: certificates.serverA.cert, key: certificates.serverA.key) { server in
                let get = try await Curl.request(server.url(), version: version, contentType: nil)
                #expect(get.status == 405, "\(get)")
                #expect(get.header("allow") == "POST", "\(get)")
                #expect(get.header("content-type") == "application/json")
                #expect(get.bodyText == statusBody(405, "MethodNotAllowed", "method GET is not allowed on /validate; use POST"))

                let text = try await Curl.request(server.url(), version: version, body: .file(Examples.allowed), contentType: "text/plain")
                #expect(text.status == 415, "\(text)")
                #expect(text.bodyText == statusBody(415, "UnsupportedMediaType", #"content type "text/plain" is not supported; send application/json"#))

                let missing = try await Curl.request(server.url(), version: version, body: .file(Examples.allowed), contentType: nil, headers: ["content-type:"], extra: ["-H", "content-type;"])
                #expect(missing.status == 415, "\(missing)")

                // Parameters after the media type are fine.
                let charset = try await Curl.request(server.url(), version: version, body: .file(Examples.allowed), contentType: "application/json; charset=utf-8")
                #expect(charset.status == 200, "\(charset)")

                let nope = try await Curl.request(server.url("/nope"), version: version, body: .file(Examples.allowed))
                #expect(nope.status == 404, "\(nope)")
                #expect(nope.bodyText == statusBody(404, "NotFound", "no such path /nope; use POST /validate, /validate/enforce or /validate/dry-run"))

                #expect(version == .http1 ? get.statusLine == "HTTP/1.1 405 Method Not Allowed" : get.statusLine == "HTTP/2 405")
                try await expectServing(server, "after 404/405/415")

                let metrics = try PlainHTTP.metrics(port: server.metricsPort)
                #expect(metrics.contains(#"nonroot_admission_http_rejections_total{code="405"} 1"#), "\(metrics)")
                #expect(metrics.contains(#"nonroot_admission_http_rejections_total{code="415"} 2"#), "\(metrics)")
                #expect(metrics.contains(#"nonroot_admission_http_rejections_total{code="404"} 1"#), "\(metrics)")
            }
        }

        /// A declared length over the limit is refused from the headers alone: even at 1 MB/s the answer
        /// comes long before the 9 s the body would take.
        @Test(arguments: [HTTPVersion.http1, .http2])
        func declaredLengthTooLargeIs413Early(version: HTTPVersion) async throws {
            let certificates = try TestCertificates.get()
            let scratch = try TemporaryDirectory()
            let big = try scratch.write("big.json", bytes: Data(repeating: UInt8(ascii: " "), count: 9 << 20))
            try await ServerProcess.with(cert: certificates.serverA.cert, key: certificates.serverA.key) { server in
                let exchange = try await Curl.request(server.url(), version: version, body: .file(big), headers: ["Expect:"], extra: ["--limit-rate", "1M"])
                #expect(exchange.status == 413, "\(exchange)")
                #expect(exchange.statusLine == (version == .http1 ? "HTTP/1.1 413 Payload Too Large" : "HTTP/2 413"), "\(exchange)")
                #expect(exchange.bodyText == statusBody(413, "RequestEntityTooLarge", "request body of 9437184 bytes is larger than 7340032 bytes"), "\(exchange)")
                if version == .http1 { #expect(exchange.header("connection") == "close") }
                #expect(exchange.elapsed < .milliseconds(1500), "took \(exchange.elapsed): the server read the body")
                try await expectServing(server, "after 413")
            }
        }

        /// A body without a length (chunked on HTTP/1.1, no content-length on HTTP/2) is cut off once it passes 7 MiB.
        @Test(arguments: [HTTPVersion.http1, .http2])
        func growingBodyTooLargeIs413(version: HTTPVersion) async throws {
            let certificates = try TestCertificates.get()
            let scratch = try TemporaryDirectory()
            let big = try scratch.write("big.json", bytes: Data(repeating: UInt8(ascii: " "), count: 9 << 20))
            let headers = version == .http1 ? ["Expect:", "transfer-encoding: chunked"] : ["content-length:"]
            try await ServerProcess.with(cert: certificates.serverA.cert, key: certificates.serverA.key) { server in
                let exchange = try await Curl.request(server.url(), version: version, body: .file(big), headers: headers)
                if version == .http1 { #expect(exchange.trace.contains("> Transfer-Encoding: chunked") || exchange.trace.contains("> transfer-encoding: chunked"), "\(exchange)") }
                #expect(!exchange.trace.lowercased().contains("> content-length"), "\(exchange)")
                #expect(exchange.status == 413, "\(exchange)")
                #expect(exchange.bodyText == statusBody(413, "RequestEntityTooLarge", "request body is larger than 7340032 bytes"), "\(exchange)")
                try await expectServing(server, "after a chunked 413")
            }
        }

        /// HTTP/1.1: a request whose headers never finish is closed after --request-timeout.
        @Test func trickledHeadersAreCutOff() async throws {
            let certificates = try TestCertificates.get()
            try await ServerProcess.with(cert: certificates.serverA.cert, key: certificates.serverA.key, ["--request-timeout", "2s"]) { server in
                let connection = try await RawTLSConnection(port: server.port)
                let sent = ContinuousClock.now
                connection.send("POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: app")
                let closedAfter = await connection.waitForClose(since: sent, timeout: .seconds(6))
                #expect(closedAfter != nil, "still open 6 s after a partial request head")
                if let closedAfter {
                    #expect(closedAfter > .milliseconds(1500) && closedAfter < .milliseconds(3500), "closed after \(closedAfter)")
                }
                try await expectServing(server, "after a slowloris")
            }
        }

        /// HTTP/1.1 keep-alive: a complete request followed, in the same packet, by the start of a second one that
        /// never finishes. The first is answered; the second is cut off after --request-timeout, not after the
        /// (much longer) idle timeout.
        @Test func pipelinedPartialRequestIsCutOff() async throws {
            let certificates = try TestCertificates.get()
            try await ServerProcess.with(cert: certificates.serverA.cert, key: certificates.serverA.key, ["--request-timeout", "2s", "--idle-timeout", "30s"]) { server in
                let connection = try await RawTLSConnection(port: server.port)
                let body = try String(contentsOfFile: Examples.allowed, encoding: .utf8)
                let sent = ContinuousClock.now
                connection.send("POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: \(body.utf8.count)\r\n\r\n\(body)"
                    + "POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-ty")
                let closedAfter = await connection.waitForClose(since: sent, timeout: .seconds(6))
                #expect(connection.received.contains("HTTP/1.1 200 OK\r\n"), "the complete request was not answered: \(connection.received.suffix(600))")
                // The decoder holds the partial request; HTTPDecoderBufferProbe makes it start a fresh deadline.
                #expect(closedAfter != nil, "a trickled second request held the connection open for 6 s (request timeout 2 s)")
                if let closedAfter {
                    #expect(closedAfter > .milliseconds(1500) && closedAfter < .milliseconds(3500), "closed after \(closedAfter)")
                }
                try await expectServing(server, "after a pipelined slowloris")
            }
        }

        /// HTTP/1.1: headers sent, the body never finishes: 408 and closed after --request-timeout.
        @Test func stalledBodyGets408() async throws {
            let certificates = try TestCertificates.get()
            try await ServerProcess.with(cert: certificates.serverA.cert, key: certificates.serverA.key, ["--request-timeout", "2s"]) { server in
                let connection = try await RawTLSConnection(port: server.port)
                let sent = ContinuousClock.now
                connection.send("POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{\"apiVersion\":")
                let closedAfter = await connection.waitForClose(since: sent, timeout: .seconds(6))
                #expect(closedAfter != nil, "still open 6 s after a stalled body")
                if let closedAfter {
                    #expect(closedAfter > .milliseconds(1500) && closedAfter < .milliseconds(3500), "closed after \(closedAfter)")
                }
                let received = connection.received
                #expect(received.contains("HTTP/1.1 408 Request Timeout\r\n"), "received: \(received.suffix(800))\n\(server.logTail)")
                #expect(received.contains(statusBody(408, "Timeout", "request body not received within 2.0 seconds")), "received: \(received.suffix(800))")
                try await expectServing(server, "after a stalled body")
            }
        }

        /// HTTP/2: a stream whose body trickles in is answered 408 after --request-timeout; the connection's other streams are unaffected.
        @Test func stalledHTTP2BodyGets408() async throws {
            let certificates = try TestCertificates.get()
            let scratch = try TemporaryDirectory()
            let slow = try scratch.write("slow.json", bytes: Data(repeating: UInt8(ascii: " "), count: 256 << 10))
            try await ServerProcess.with(cert: certificates.serverA.cert, key: certificates.serverA.key, ["--request-timeout", "2s"]) { server in
                let exchange = try await Curl.request(server.url(), version: .http2, body: .file(slow), extra: ["--limit-rate", "16K"], timeout: .seconds(20))
                #expect(exchange.statusLine == "HTTP/2 408", "\(exchange)")
                #expect(exchange.bodyText == statusBody(408, "Timeout", "request body not received within 2.0 seconds"), "\(exchange)")
                #expect(exchange.elapsed > .milliseconds(1500) && exchange.elapsed < .milliseconds(4000), "answered after \(exchange.elapsed)")
                try await expectServing(server, "after a stalled HTTP/2 body")
            }
        }
    }
}
