import Foundation
import Testing
import TestSupport

/// `serve --client-allowed-names`: of the certificates the client CA signed, only those whose subject CN
/// or a DNS SAN is listed get a connection; the others are closed after the handshake, logged and counted.
@Suite("client names")
struct ClientNameTests {
    /// Client certificates from the test client CA with chosen names, made with openssl.
    final class Clients: Sendable {
        static let shared: Result<Clients, any Error> = Result { try Clients() }
        static func get() throws -> Clients { try shared.get() }

        private let directory: TemporaryDirectory
        let clientCA: String

        /// The name is in the CN only.
        var byCommonName: (cert: String, key: String) { pair("by-cn") }
        /// The CN is something else; the name is a DNS SAN.
        var bySubjectAlternativeName: (cert: String, key: String) { pair("by-san") }
        /// Same CA, other names, one of them a prefix of an allowed name's extension.
        var intruder: (cert: String, key: String) { pair("intruder") }

        private func pair(_ name: String) -> (cert: String, key: String) { (directory.file("\(name).pem"), directory.file("\(name).key")) }

        init() throws {
            directory = try TemporaryDirectory("nonroot-it-client-names")
            ChildProcesses.removeAtExit(directory.path)
            clientCA = directory.file("client-ca.pem")
            try openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "client-ca.key"])
            try openssl([
                "req", "-x509", "-new", "-key", "client-ca.key", "-sha256", "-days", "30", "-subj", "/CN=client names test CA",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", "client-ca.pem",
            ])
            try leaf("by-cn", subject: "/O=system:masters/CN=kube-apiserver-admission", alternativeNames: nil)
            try leaf("by-san", subject: "/CN=some-other-name", alternativeNames: "DNS:nonroot-admission.nonroot-admission.svc")
            try leaf("intruder", subject: "/CN=kube-apiserver-admission-2", alternativeNames: "DNS:nonroot-admission.nonroot-admission.svc.evil, DNS:kube-apiserver")
        }

        private func leaf(_ name: String, subject: String, alternativeNames: String?) throws {
            var extensions = "basicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = clientAuth\n"
            if let alternativeNames { extensions += "subjectAltName = \(alternativeNames)\n" }
            try directory.write("\(name).ext", extensions)
            try openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "\(name).key"])
            try openssl(["req", "-new", "-key", "\(name).key", "-subj", subject, "-out", "\(name).csr"])
            try openssl([
                "x509", "-req", "-in", "\(name).csr", "-CA", "client-ca.pem", "-CAkey", "client-ca.key", "-CAcreateserial",
                "-sha256", "-days", "30", "-extfile", "\(name).ext", "-out", "\(name).pem",
            ])
        }

        private func openssl(_ arguments: [String]) throws {
            let result = try Command.runBlocking("openssl", arguments, currentDirectory: directory.url, timeout: .seconds(30))
            guard result.exited, result.status == 0 else { throw CommandError("openssl \(arguments.joined(separator: " ")) failed: \(result)") }
        }
    }

    static let allowedNames = "kube-apiserver-admission, nonroot-admission.nonroot-admission.svc"
    static let refusedLog = "client certificate refused: none of its names is in --client-allowed-names"

    @Test func onlyTheNamedClientsGetAnAnswer() async throws {
        let certificates = try TestCertificates.get()
        let clients = try Clients.get()
        try await ServerProcess.with(cert: certificates.serverA.cert, key: certificates.serverA.key,
                                     ["--client-ca-file", clients.clientCA, "--client-allowed-names", Self.allowedNames]) { server in
            #expect(try PlainHTTP.metrics(port: server.metricsPort).contains("nonroot_admission_client_certificates_refused_total 0"))
            for version in [HTTPVersion.http1, .http2] {
                for (label, client) in [("CN", clients.byCommonName), ("DNS SAN", clients.bySubjectAlternativeName)] {
                    let good = try await Curl.review(server, Examples.allowed, version: version, clientCertificate: client)
                    #expect(good.status == 200, "\(version) \(label): \(good)")
                    #expect(good.bodyText == Examples.reviewBody(#"{"uid":"0f6e3c6a-1b52-4f8e-9d0a-6a1f3e9b2c01","allowed":true}"#))
                }
                let intruder = try await Curl.review(server, Examples.allowed, version: version, clientCertificate: clients.intruder)
                #expect(intruder.exitCode != 0, "\(version): \(intruder)")
                #expect(intruder.status == nil, "\(version): \(intruder)")
                // No client certificate at all is still refused in the handshake.
                let none = try await Curl.review(server, Examples.allowed, version: version)
                #expect(none.exitCode != 0 && none.status == nil, "\(version): \(none)")
            }
            let refusal = await server.waitForLog { $0["message"] as? String == Self.refusedLog }
            let record = try #require(refusal, "\(server.logTail)")
            #expect(record["level"] as? String == "warning")
            #expect(record["names"] as? String == #"["kube-apiserver-admission-2", "nonroot-admission.nonroot-admission.svc.evil", "kube-apiserver"]"#, "\(record)")
            #expect((record["peer"] as? String ?? "").contains("127.0.0.1"), "\(record)")
            #expect(server.logRecords.filter { $0["message"] as? String == Self.refusedLog }.count == 2, "\(server.logTail)")
            #expect(try PlainHTTP.metrics(port: server.metricsPort).contains("nonroot_admission_client_certificates_refused_total 2"))
        }
    }

    @Test func aClientFromTheCAWithoutAllowedNamesStillWorksWithoutTheFlag() async throws {
        // Without --client-allowed-names every certificate the CA signed is accepted, as before.
        let certificates = try TestCertificates.get()
        let clients = try Clients.get()
        try await ServerProcess.with(cert: certificates.serverA.cert, key: certificates.serverA.key, ["--client-ca-file", clients.clientCA]) { server in
            let intruder = try await Curl.review(server, Examples.allowed, clientCertificate: clients.intruder)
            #expect(intruder.status == 200, "\(intruder)")
        }
    }

    @Test func theNamesNeedAClientCA() async throws {
        let certificates = try TestCertificates.get()
        for (extra, message) in [
            (["--client-allowed-names", "kube-apiserver"], "Error: --client-allowed-names needs --client-ca-file"),
            (["--client-ca-file", certificates.clientCA, "--client-allowed-names", " , "], #"Error: --client-allowed-names is empty: " , ""#),
        ] {
            let result = try await Command.run(ServerProcess.executable, ServerProcess.standardArguments(cert: certificates.serverA.cert, key: certificates.serverA.key) + extra,
                                               currentDirectory: TestPaths.packageRoot, timeout: .seconds(10))
            #expect(result.exited && result.status == 64, "\(result)")
            #expect(result.stderr.split(separator: "\n").first.map(String.init) == message, "\(result)")
        }
    }
}
