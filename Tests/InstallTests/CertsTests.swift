import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// certs/generate.sh: what it writes, that it is idempotent, that `serve` presents its certificate
/// for the Service's name, and that re-running it rotates the served certificate without a restart.
@Suite("certs/generate.sh")
struct CertsTests {
    static func text(_ file: String) async throws -> String {
        try await Shell.check("openssl", ["x509", "-in", file, "-noout", "-text"])
    }

    @Test func writesAVerifiableServingCertificateForTheService() async throws {
        let scratch = try TemporaryDirectory()
        let out = scratch.file("out")
        let output = try await Install.generateCertificates(into: out, service: "webhook", namespace: "team-a")
        #expect(output.contains("CA created"), "\(output)")
        for file in ["ca.crt", "ca.key", "tls.crt", "tls.key", "secret.yaml", "ca-bundle.txt", "kustomization.yaml"] {
            #expect(FileManager.default.fileExists(atPath: "\(out)/\(file)"), "\(file) missing")
        }
        let verify = try await Shell.run("openssl", ["verify", "-CAfile", "\(out)/ca.crt", "\(out)/tls.crt"])
        #expect(verify.succeeded && verify.stdout.contains(": OK"), "\(verify)")
        let purpose = try await Shell.run("openssl", ["verify", "-CAfile", "\(out)/ca.crt", "-purpose", "sslserver", "\(out)/tls.crt"])
        #expect(purpose.succeeded, "\(purpose)")
        // Hostname checks as a TLS client makes them.
        for host in ["webhook.team-a.svc", "webhook.team-a.svc.cluster.local"] {
            let check = try await Shell.run("openssl", ["verify", "-CAfile", "\(out)/ca.crt", "-verify_hostname", host, "\(out)/tls.crt"])
            #expect(check.succeeded, "\(host): \(check)")
        }
        let wrong = try await Shell.run("openssl", ["verify", "-CAfile", "\(out)/ca.crt", "-verify_hostname", "webhook.other.svc", "\(out)/tls.crt"])
        #expect(!wrong.succeeded, "\(wrong)")

        let leaf = try await Self.text("\(out)/tls.crt")
        #expect(leaf.contains("DNS:webhook.team-a.svc, DNS:webhook.team-a.svc.cluster.local"), "\(leaf)")
        #expect(leaf.contains("TLS Web Server Authentication"), "\(leaf)")
        #expect(leaf.contains("X509v3 Key Usage: critical\n                Digital Signature\n"), "\(leaf)")
        #expect(leaf.contains("X509v3 Basic Constraints: critical\n                CA:FALSE"), "\(leaf)")
        #expect(leaf.contains("ASN1 OID: prime256v1") || leaf.contains("NIST CURVE: P-256"), "\(leaf)")
        #expect(leaf.contains("Subject: CN = webhook.team-a.svc"), "\(leaf)")
        let ca = try await Self.text("\(out)/ca.crt")
        #expect(ca.contains("CA:TRUE"), "\(ca)")
        #expect(ca.contains("Certificate Sign"), "\(ca)")

        // Lifetimes: the CA five years, the serving certificate one.
        #expect(try await Self.daysValid("\(out)/tls.crt") == 365)
        #expect(try await Self.daysValid("\(out)/ca.crt") == 1825)

        // Private keys are not readable by others.
        for key in ["ca.key", "tls.key", "secret.yaml"] {
            let attributes = try FileManager.default.attributesOfItem(atPath: "\(out)/\(key)")
            #expect((attributes[.posixPermissions] as? Int ?? 0o777) & 0o077 == 0, "\(key) is readable by others")
        }
    }

    /// Days between notBefore and notAfter.
    static func daysValid(_ file: String) async throws -> Int {
        let dates = try await Shell.check("openssl", ["x509", "-in", file, "-noout", "-startdate", "-enddate"])
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "MMM d HH:mm:ss yyyy 'GMT'"
        let values = dates.split(separator: "\n").compactMap { line -> Date? in
            guard let equals = line.firstIndex(of: "=") else { return nil }
            let text = line[line.index(after: equals)...].split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            return formatter.date(from: text)
        }
        guard values.count == 2 else { throw InstallTestError("cannot read the dates: \(dates)") }
        return Int((values[1].timeIntervalSince(values[0]) / 86400).rounded())
    }

    @Test func theSecretAndCABundleHoldTheFiles() async throws {
        let scratch = try TemporaryDirectory()
        let out = scratch.file("out")
        try await Install.generateCertificates(into: out)
        let documents = try YAML.documents("\(out)/secret.yaml")
        let secret = try #require(documents.first)
        #expect(documents.count == 1)
        #expect(secret["apiVersion"] as? String == "v1" && secret["kind"] as? String == "Secret")
        #expect(secret["type"] as? String == "kubernetes.io/tls")
        #expect(secret[path: "metadata.name"] as? String == "nonroot-admission-tls")
        #expect(secret[path: "metadata.namespace"] as? String == Install.namespace)
        let data = try #require(secret["data"] as? [String: String])
        #expect(Set(data.keys) == ["tls.crt", "tls.key", "ca.crt"])
        for (key, encoded) in data {
            let decoded = try #require(Data(base64Encoded: encoded), "\(key) is not base64")
            #expect(decoded == (try Data(contentsOf: URL(fileURLWithPath: "\(out)/\(key)"))), "\(key) differs from the file")
        }
        let bundle = try String(contentsOfFile: "\(out)/ca-bundle.txt", encoding: .utf8)
        #expect(bundle.hasSuffix("\n") && !bundle.dropLast().contains("\n"), "one line")
        #expect(Data(base64Encoded: bundle.trimmingCharacters(in: .whitespacesAndNewlines)) == (try Data(contentsOf: URL(fileURLWithPath: "\(out)/ca.crt"))))
        let kustomization = try #require(try YAML.documents("\(out)/kustomization.yaml").first)
        #expect(kustomization["kind"] as? String == "Component")
        #expect(kustomization["resources"] as? [String] == ["secret.yaml"])
        // The Secret's kubernetes-validate verdict, as a user would apply it on its own.
        let validate = try await Shell.run("python3", ["-m", "kubernetes_validate", "-k", "1.30.0", "--strict", "\(out)/secret.yaml"])
        #expect(validate.succeeded, "\(validate)")
    }

    @Test func secondRunKeepsTheCAAndIssuesANewServingCertificate() async throws {
        let scratch = try TemporaryDirectory()
        let out = scratch.file("out")
        try await Install.generateCertificates(into: out)
        let ca = try Data(contentsOf: URL(fileURLWithPath: "\(out)/ca.crt"))
        let caKey = try Data(contentsOf: URL(fileURLWithPath: "\(out)/ca.key"))
        let bundle = try String(contentsOfFile: "\(out)/ca-bundle.txt", encoding: .utf8)
        let component = try String(contentsOfFile: "\(out)/kustomization.yaml", encoding: .utf8)
        let firstSerial = try await Handshake.serial(of: "\(out)/tls.crt")
        let firstKey = try Data(contentsOf: URL(fileURLWithPath: "\(out)/tls.key"))

        let second = try await Install.generateCertificates(into: out)
        #expect(second.contains("CA reused"), "\(second)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(out)/ca.crt")) == ca)
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(out)/ca.key")) == caKey)
        #expect(try String(contentsOfFile: "\(out)/ca-bundle.txt", encoding: .utf8) == bundle, "the caBundle must not change")
        #expect(try String(contentsOfFile: "\(out)/kustomization.yaml", encoding: .utf8) == component)
        #expect(try await Handshake.serial(of: "\(out)/tls.crt") != firstSerial)
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(out)/tls.key")) != firstKey)
        let verify = try await Shell.run("openssl", ["verify", "-CAfile", "\(out)/ca.crt", "\(out)/tls.crt"])
        #expect(verify.succeeded, "\(verify)")
        // Nothing is left behind but the outputs.
        let entries = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        #expect(entries == ["ca-bundle.txt", "ca.crt", "ca.key", "kustomization.yaml", "secret.yaml", "tls.crt", "tls.key"], "\(entries)")

        // A CA that would expire before the next serving certificate, or an explicit request, is replaced.
        let rotated = try await Install.generateCertificates(into: out, environment: ["NONROOT_ROTATE_CA": "1"])
        #expect(rotated.contains("CA created") && rotated.contains("apply the webhook configuration again"), "\(rotated)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(out)/ca.crt")) != ca)
        let short = try await Install.generateCertificates(into: out, environment: ["NONROOT_ROTATE_CA": "1", "NONROOT_CA_DAYS": "30"])
        #expect(short.contains("CA created"), "\(short)")
        let again = try await Install.generateCertificates(into: out)
        #expect(again.contains("CA created"), "a CA valid for 30 days cannot sign a 365-day certificate: \(again)")
        // A CA whose key does not match is replaced too.
        let other = scratch.file("other")
        try await Install.generateCertificates(into: other)
        try FileManager.default.removeItem(atPath: "\(out)/ca.key")
        try FileManager.default.copyItem(atPath: "\(other)/ca.key", toPath: "\(out)/ca.key")
        let mismatched = try await Install.generateCertificates(into: out)
        #expect(mismatched.contains("CA created"), "\(mismatched)")
        let final = try await Shell.run("openssl", ["verify", "-CAfile", "\(out)/ca.crt", "\(out)/tls.crt"])
        #expect(final.succeeded, "\(final)")
    }

    @Test(arguments: [
        [String](), ["only-one"], ["Bad_Name", "ns"], ["svc", "ns.with.dots"], ["svc", "-leading"], ["a", "b", "c", "d"],
    ])
    func rejectsBadArguments(_ arguments: [String]) async throws {
        let scratch = try TemporaryDirectory()
        let result = try await Shell.run("bash", [Install.generateScript] + arguments, in: scratch.url)
        #expect(result.status == 2, "\(result)")
        #expect(result.stderr.contains("usage:") || result.stderr.contains("not a DNS label"), "\(result)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path).isEmpty, "nothing is written")
    }

    /// `serve` with the generated files completes a verified TLS handshake for both of the Service's
    /// names, as the apiserver would make it.
    @Test func serveAnswersTheHandshakeForTheServiceName() async throws {
        let scratch = try TemporaryDirectory()
        let out = scratch.file("out")
        try await Install.generateCertificates(into: out)
        try await ServeProcess.with(["--tls-cert-file", "\(out)/tls.crt", "--tls-key-file", "\(out)/tls.key", "--images", "Examples/images.yaml"]) { server in
            for host in [Install.host, "\(Install.host).cluster.local"] {
                let result = try await Shell.run("curl", [
                    "-sS", "-v", "--http1.1", "--resolve", "\(host):\(server.port):127.0.0.1", "--cacert", "\(out)/ca.crt",
                    "-H", "content-type: application/json",
                    "--data-binary", "@\(Install.root.appendingPathComponent("Examples/reviews/01-allowed-numeric-user.json").path)",
                    "https://\(host):\(server.port)/validate",
                ])
                #expect(result.succeeded, "\(host): \(result)")
                #expect(result.stderr.contains("SSL certificate verify ok"), "\(host): \(result)")
                #expect(result.stdout.contains(#""allowed":true"#), "\(host): \(result)")
            }
            // A name the certificate does not hold fails verification.
            let wrong = try await Shell.run("curl", [
                "-sS", "--resolve", "nonroot-admission.elsewhere.svc:\(server.port):127.0.0.1", "--cacert", "\(out)/ca.crt",
                "https://nonroot-admission.elsewhere.svc:\(server.port)/validate",
            ])
            #expect(wrong.status == 60, "\(wrong)")
            let handshake = try await Handshake.servedSerial(port: server.port, serverName: Install.host, caFile: "\(out)/ca.crt")
            #expect(handshake.verified)
            #expect(handshake.serial == (try await Handshake.serial(of: "\(out)/tls.crt")))
        }
    }

    /// Rotation as a cluster does it: the files the server reads are a Secret volume (the kubelet's
    /// `..data` symlink swap); re-running the script and swapping the new files in changes the served
    /// certificate within --cert-refresh-interval, with the same process and the same CA.
    @Test func rerunningTheScriptRotatesTheServedCertificateWithoutARestart() async throws {
        let scratch = try TemporaryDirectory()
        let out = scratch.file("out")
        try await Install.generateCertificates(into: out)
        let volume = try SecretVolume(at: scratch.file("volume"))
        try volume.publish(from: out)
        try await ServeProcess.with(["--tls-cert-file", volume.file("tls.crt"), "--tls-key-file", volume.file("tls.key"),
                                     "--cert-refresh-interval", "1s"]) { server in
            let before = try await Handshake.servedSerial(port: server.port, serverName: Install.host, caFile: "\(out)/ca.crt")
            #expect(before.verified)
            #expect(before.serial == (try await Handshake.serial(of: "\(out)/tls.crt")))

            // Re-run (a new serving certificate, the same CA) and "re-apply the Secret".
            try await Install.generateCertificates(into: out)
            let renewed = try await Handshake.serial(of: "\(out)/tls.crt")
            #expect(renewed != before.serial)
            try volume.publish(from: out)

            var served = before.serial
            let deadline = ContinuousClock.now + .seconds(15)
            while served != renewed && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(250))
                let now = try await Handshake.servedSerial(port: server.port, serverName: Install.host, caFile: "\(out)/ca.crt")
                #expect(now.verified, "the client keeps trusting the server through the rotation")
                served = now.serial
            }
            #expect(served == renewed, "still serving \(served) after 15 s, not \(renewed):\n\(server.log.suffix(3000))")
            #expect(server.isRunning, "the server restarted or died")
            #expect(server.log.components(separatedBy: #""message":"serving""#).count == 2, "one start only")
        }
    }
}

/// A folder laid out as the kubelet lays out a Secret volume: `..2026_…/FILE` holds the data,
/// `..data` points at it, and each `FILE` is a symlink to `..data/FILE`. An update writes a new
/// timestamped folder and renames a new `..data` link over the old one: one atomic swap.
final class SecretVolume {
    let path: String
    private var generation = 0

    init(at path: String) throws {
        self.path = path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { "\(path)/\(name)" }

    func publish(from directory: String, files: [String] = ["tls.crt", "tls.key", "ca.crt"]) throws {
        generation += 1
        let data = "..\(generation)_\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: "\(path)/\(data)", withIntermediateDirectories: false)
        for name in files {
            try FileManager.default.copyItem(atPath: "\(directory)/\(name)", toPath: "\(path)/\(data)/\(name)")
        }
        try? FileManager.default.removeItem(atPath: "\(path)/..data_tmp")
        try FileManager.default.createSymbolicLink(atPath: "\(path)/..data_tmp", withDestinationPath: data)
        guard rename("\(path)/..data_tmp", "\(path)/..data") == 0 else { throw InstallTestError("rename ..data: errno \(errno)") }
        for name in files where (try? FileManager.default.destinationOfSymbolicLink(atPath: "\(path)/\(name)")) == nil {
            try FileManager.default.createSymbolicLink(atPath: "\(path)/\(name)", withDestinationPath: "..data/\(name)")
        }
    }
}
