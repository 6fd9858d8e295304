import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

extension ServerIntegrationTests {
    @Suite("connection limits")
    struct Limits {
        /// With --max-connections 4 and four idle established connections, a fifth client is served: the
        /// connection idle the longest is closed to make room, and the other three are untouched.
        @Test func fullServerEvictsLongestIdle() async throws {
            let certificates = try TestCertificates.get()
            try await ServerProcess.with(cert: certificates.serverA.cert, key: certificates.serverA.key, ["--max-connections", "4", "--first-request-timeout", "60s"]) { server in
                var open: [RawTLSConnection] = []
                for _ in 0..<4 { open.append(try await RawTLSConnection(port: server.port)) }
                #expect(open.allSatisfy { $0.command.isRunning })
                #expect(try PlainHTTP.metrics(port: server.metricsPort).contains("nonroot_admission_open_connections 4.0"))

                try await expectServing(server, "with four idle connections held")
                #expect(await open[0].waitForClose(since: .now, timeout: .seconds(2)) != nil, "the longest-idle connection was not closed")
                #expect(open.dropFirst().allSatisfy { $0.command.isRunning }, "a connection other than the longest-idle one was closed")
                let metrics = try PlainHTTP.metrics(port: server.metricsPort)
                #expect(metrics.contains(#"nonroot_admission_connections_evicted_total{stage="idle"} 1"#), "\(metrics)")
                #expect(metrics.contains("nonroot_admission_connections_rejected_total 0"), "\(metrics)")

                for connection in open { connection.close() }
                open.removeAll()
                var freed = false
                for _ in 0..<100 where !freed {
                    freed = try PlainHTTP.metrics(port: server.metricsPort).contains("nonroot_admission_open_connections 0.0")
                    if !freed { try await Task.sleep(for: .milliseconds(20)) }
                }
                #expect(freed, "the closed connections were not released")
            }
        }

        /// Connections with a request in flight are never evicted: when all are busy, a new one is refused
        /// after its handshake and the busy ones carry on.
        @Test func busyConnectionsAreNotEvicted() async throws {
            let certificates = try TestCertificates.get()
            try await ServerProcess.with(cert: certificates.serverA.cert, key: certificates.serverA.key, ["--max-connections", "2", "--request-timeout", "30s"]) { server in
                let body = try String(contentsOfFile: Examples.allowed, encoding: .utf8)
                let head = "POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: \(body.utf8.count)\r\n\r\n"
                let busy = [try await RawTLSConnection(port: server.port), try await RawTLSConnection(port: server.port)]
                for connection in busy { connection.send(head) }
                try await Task.sleep(for: .milliseconds(200))

                let third = try await Curl.review(server, Examples.allowed)
                #expect(third.exitCode != 0 && third.status == nil, "a request got through a server whose connections are all busy: \(third)")
                #expect(busy.allSatisfy { $0.command.isRunning }, "a busy connection was evicted")
                let metrics = try PlainHTTP.metrics(port: server.metricsPort)
                #expect(metrics.contains("nonroot_admission_connections_rejected_total 1"), "\(metrics)")
                #expect(metrics.contains(#"nonroot_admission_connections_evicted_total{stage="idle"} 0"#), "\(metrics)")

                // The busy requests finish normally.
                for connection in busy { connection.send(body) }
                for connection in busy {
                    var answered = false
                    for _ in 0..<100 where !answered {
                        answered = connection.received.contains("HTTP/1.1 200 OK\r\n")
                        if !answered { try await Task.sleep(for: .milliseconds(20)) }
                    }
                    #expect(answered, "\(connection.received.suffix(600))")
                }
                // Now idle, they make room again.
                try await expectServing(server, "after the busy requests were answered")
            }
        }

        /// 300 TCP connections from one address that never start a handshake take at most
        /// --max-pending-handshakes-per-source slots; a real client from the same address is served at once.
        @Test func stalledHandshakesDoNotLockOut() async throws {
            let certificates = try TestCertificates.get()
            try await ServerProcess.with(cert: certificates.serverA.cert, key: certificates.serverA.key, [
                "--max-pending-handshakes", "16", "--max-pending-handshakes-per-source", "8", "--max-connections", "8",
            ]) { server in
                var stalled: [RawTCPConnection] = []
                for _ in 0..<300 { stalled.append(try RawTCPConnection(port: server.port)) }
                var settled = false
                var seen: [String] = []
                for _ in 0..<200 where !settled {
                    let metrics = try PlainHTTP.metrics(port: server.metricsPort)
                    seen = metrics.filter { $0.contains("handshake") }
                    settled = metrics.contains(#"nonroot_admission_connections_evicted_total{stage="handshake"} 292"#)
                        && metrics.contains("nonroot_admission_pending_handshakes 8.0")
                    if !settled { try await Task.sleep(for: .milliseconds(20)) }
                }
                #expect(settled, "\(seen)")
                // Which ones go depends on the order the event loops admitted them, so only count them.
                var closed = 0
                for _ in 0..<100 {
                    closed = stalled.filter(\.isClosedByServer).count
                    if closed == 292 { break }
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(closed == 292, "\(closed) of 300 stalled connections closed by the server")

                let exchange = try await Curl.review(server, Examples.allowed)
                #expect(exchange.status == 200, "\(exchange)")
                #expect(exchange.elapsed < .seconds(2), "served after \(exchange.elapsed)")
                let metrics = try PlainHTTP.metrics(port: server.metricsPort)
                // The client's own handshake took the slot of the oldest stalled one, then left for an established slot.
                #expect(metrics.contains(#"nonroot_admission_connections_evicted_total{stage="handshake"} 293"#), "\(metrics)")
                #expect(metrics.contains("nonroot_admission_pending_handshakes 7.0"), "\(metrics)")
            }
        }

        /// An established connection that sends no request is closed after --first-request-timeout; one that
        /// is answered stays until the idle timeout.
        @Test func firstRequestTimeout() async throws {
            let certificates = try TestCertificates.get()
            try await ServerProcess.with(cert: certificates.serverA.cert, key: certificates.serverA.key, ["--first-request-timeout", "1s"]) { server in
                let silent = try await RawTLSConnection(port: server.port)
                let talking = try await RawTLSConnection(port: server.port)
                let body = try String(contentsOfFile: Examples.allowed, encoding: .utf8)
                talking.send("POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: \(body.utf8.count)\r\n\r\n\(body)")
                let closedAfter = await silent.waitForClose(since: silent.handshakeDone, timeout: .seconds(4))
                #expect(closedAfter != nil, "a silent connection was still open 4 s after its handshake")
                if let closedAfter {
                    #expect(closedAfter > .milliseconds(700) && closedAfter < .milliseconds(2000), "closed after \(closedAfter)")
                }
                try await Task.sleep(for: .seconds(1))
                #expect(talking.command.isRunning, "a connection that sent a request was closed")
                #expect(talking.received.contains("HTTP/1.1 200 OK\r\n"), "\(talking.received.suffix(600))")
            }
        }

        /// The metrics listener: beyond --metrics-max-connections, busy connections make a newcomer wait out
        /// (it is refused), idle ones make room; a trickled request is cut at --metrics-request-timeout.
        @Test func metricsListenerIsBounded() async throws {
            let certificates = try TestCertificates.get()
            try await ServerProcess.with(cert: certificates.serverA.cert, key: certificates.serverA.key, [
                "--metrics-max-connections", "4", "--metrics-request-timeout", "2s", "--metrics-idle-timeout", "30s",
            ]) { server in
                var busy: [RawTCPConnection] = []
                for _ in 0..<4 {
                    let connection = try RawTCPConnection(port: server.metricsPort)
                    connection.send("GET /metr")
                    busy.append(connection)
                }
                try await Task.sleep(for: .milliseconds(200))
                #expect(throws: (any Error).self, "a fifth connection was served while four requests were in flight") {
                    _ = try PlainHTTP.get(port: server.metricsPort, "/healthz")
                }
                let sent = ContinuousClock.now
                #expect(busy.allSatisfy { $0.waitForClose() }, "a trickled request outlived --metrics-request-timeout")
                let closedAfter = ContinuousClock.now - sent
                #expect(closedAfter > .milliseconds(1500) && closedAfter < .milliseconds(3000), "closed after \(closedAfter)")
                busy.removeAll()

                var idle: [RawTCPConnection] = []
                for _ in 0..<4 {
                    idle.append(try RawTCPConnection(port: server.metricsPort))
                    try await Task.sleep(for: .milliseconds(50))  // a clear order of idleness
                }
                try await Task.sleep(for: .milliseconds(200))
                let metrics = try PlainHTTP.metrics(port: server.metricsPort)
                #expect(metrics.contains("nonroot_admission_metrics_connections_rejected_total 1"), "\(metrics)")
                #expect(metrics.contains("nonroot_admission_metrics_connections_evicted_total 1"), "\(metrics)")
                #expect(idle[0].isClosedByServer, "the longest-idle metrics connection was not the one closed")
                #expect(!idle[1].isClosedByServer && !idle[2].isClosedByServer && !idle[3].isClosedByServer)
                #expect(try PlainHTTP.get(port: server.metricsPort, "/readyz").status == 200)
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
