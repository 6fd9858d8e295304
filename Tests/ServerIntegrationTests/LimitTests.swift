import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

extension ServerIntegrationTests {
    @Suite("connection limits")
    struct Limits {
        /// With --max-connections 4, a fifth connection is closed at once; closing the four frees the slots.
        @Test func maxConnections() async throws {
            let certificates = try TestCertificates.get()
            try await ServerProcess.with(cert: certificates.serverA.cert, key: certificates.serverA.key, ["--max-connections", "4"]) { server in
                var open: [RawTLSConnection] = []
                for _ in 0..<4 { open.append(try await RawTLSConnection(port: server.port)) }
                #expect(open.allSatisfy { $0.command.isRunning })
                #expect(try PlainHTTP.metrics(port: server.metricsPort).contains("nonroot_admission_open_connections 4.0"))

                let fifth = try await SClient.connect(port: server.port, ["-CAfile", certificates.ca], timeout: .seconds(5))
                #expect(fifth.exited && fifth.status != 0, "the fifth connection was served: \(fifth)")
                #expect(!SClient.handshakeSucceeded(fifth), "\(fifth)")
                #expect(fifth.elapsed < .seconds(2), "the fifth connection was not closed at once: \(fifth)")
                let curl = try await Curl.review(server, Examples.allowed)
                #expect(curl.exitCode != 0 && curl.status == nil, "a request got through a full server: \(curl)")
                // The four survivors are untouched.
                #expect(open.allSatisfy { $0.command.isRunning })

                let metrics = try PlainHTTP.metrics(port: server.metricsPort)
                #expect(metrics.contains("nonroot_admission_connections_rejected_total 2"), "\(metrics)")

                for connection in open { connection.close() }
                open.removeAll()
                var freed = false
                for _ in 0..<100 where !freed {
                    freed = try PlainHTTP.metrics(port: server.metricsPort).contains("nonroot_admission_open_connections 0.0")
                    if !freed { try await Task.sleep(for: .milliseconds(20)) }
                }
                #expect(freed, "the closed connections were not released")
                try await expectServing(server, "after the four closed")
            }
        }

        /// With --idle-timeout 2s an established, silent connection is closed by the server after about 2 s.
        @Test func idleTimeout() async throws {
            let certificates = try TestCertificates.get()
            try await ServerProcess.with(cert: certificates.serverA.cert, key: certificates.serverA.key, ["--idle-timeout", "2s"]) { server in
                let connection = try await RawTLSConnection(port: server.port)
                let closedAfter = await connection.waitForClose(since: connection.handshakeDone, timeout: .seconds(5))
                #expect(closedAfter != nil, "an idle connection was still open after 5 s")
                if let closedAfter {
                    #expect(closedAfter > .milliseconds(1500) && closedAfter < .milliseconds(3000), "closed after \(closedAfter)")
                }
                // A keep-alive connection that keeps sending is not idle.
                let busy = try await RawTLSConnection(port: server.port)
                let request = try String(contentsOfFile: Examples.allowed, encoding: .utf8)
                for _ in 0..<4 {
                    busy.send("POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: \(request.utf8.count)\r\n\r\n\(request)")
                    try await Task.sleep(for: .milliseconds(900))
                }
                #expect(busy.command.isRunning, "a busy connection was closed")
                #expect(busy.received.components(separatedBy: "HTTP/1.1 200 OK\r\n").count == 5, "\(busy.received.suffix(1500))")
                try await expectServing(server)
            }
        }
    }
}
