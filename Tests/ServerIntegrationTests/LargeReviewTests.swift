import Foundation
import Testing
import TestSupport

extension ServerIntegrationTests {
    /// Reviews over 64 KiB: decided off the event loop, with their parse tape charged to --max-buffered-bytes.
    @Suite("large reviews")
    struct LargeReviews {
        /// A Pod CREATE of `containers` containers of ghcr.io/acme/api:2.4.1 (USER 10001 in the catalog),
        /// an annotation of `padding` bytes, and `args` empty strings in the first container.
        static func review(containers: Int, padding: Int = 0, args: Int = 0) -> Data {
            let argList = args > 0 ? #","args":["# + Array(repeating: #""""#, count: args).joined(separator: ",") + "]" : ""
            let list = (0..<containers).map { #"{"name":"c\#($0)","image":"ghcr.io/acme/api:2.4.1"\#($0 == 0 ? argList : "")}"# }
            let pod = #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"big","namespace":"shop","uid":"u-big","annotations":{"note":"\#(String(repeating: "x", count: padding))"}},"spec":{"securityContext":{"runAsNonRoot":true},"containers":[\#(list.joined(separator: ","))]}}"#
            return Data(#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"uid-big","kind":{"group":"","version":"v1","kind":"Pod"},"namespace":"shop","operation":"CREATE","userInfo":{"username":"alice"},"object":\#(pod)}}"#.utf8)
        }

        /// 300 containers and 100 KB of annotation: over the small-request bound, so decided on the
        /// background thread; the first 256 containers are evaluated and the bound is named.
        @Test(arguments: [HTTPVersion.http1, .http2])
        func largeReviewIsDecidedWithTheBoundNamed(version: HTTPVersion) async throws {
            let certificates = try TestCertificates.get()
            try await ServerProcess.with(cert: certificates.serverA.cert, key: certificates.serverA.key) { server in
                let exchange = try await Curl.request(server.url(), version: version, body: .bytes(Self.review(containers: 300, padding: 100_000)))
                #expect(exchange.status == 200, "\(exchange)")
                #expect(exchange.bodyText == #"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"uid-big","allowed":true,"warnings":["pod \"big\": 44 of its containers were not evaluated: at most 256 containers are evaluated per review"]}}"#, "\(exchange)")
                try await expectServing(server, "after a large review")
            }
        }

        /// With 1 MiB of budget (768 KiB for large requests): a 300 KB review of long strings fits, the
        /// same size of dense values does not (its 1.2 MB tape is charged too), and small reviews are
        /// answered all along.
        @Test func parseTapeIsChargedToTheBudget() async throws {
            let certificates = try TestCertificates.get()
            let limits = ["--max-body-bytes", "1048576", "--max-buffered-bytes", "1048576"]
            try await ServerProcess.with(cert: certificates.serverA.cert, key: certificates.serverA.key, limits) { server in
                let strings = Self.review(containers: 1, padding: 300_000)
                let dense = Self.review(containers: 1, args: 100_000)
                #expect(abs(strings.count - dense.count) < 10_000, "\(strings.count) vs \(dense.count)")
                let fits = try await Curl.request(server.url(), body: .bytes(strings))
                #expect(fits.status == 200, "\(fits)")
                #expect(fits.bodyText == #"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"uid-big","allowed":true}}"#, "\(fits)")
                let refused = try await Curl.request(server.url(), body: .bytes(dense))
                #expect(refused.status == 503, "\(refused)")
                #expect(refused.bodyText == statusBody(503, "ServiceUnavailable", "server is busy: too many request bytes in flight; retry"), "\(refused)")
                try await expectServing(server, "after the refused tape")
                // Past the large share, a body is refused while it arrives.
                let tooLarge = try await Curl.request(server.url(), body: .bytes(Self.review(containers: 1, padding: 900_000)))
                #expect(tooLarge.status == 503, "\(tooLarge)")
                try await expectServing(server, "after the refused body")
            }
        }
    }
}
