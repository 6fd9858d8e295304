import TestSupport
import Foundation

/// A throwaway PKI made with the `openssl` command, all EC P-256:
///
/// - `ca.pem`: the CA clients trust for the serving certificates;
/// - `server-a.pem`/`server-a.key` (PKCS#8 key) and `server-b.pem`/`server-b.key` (SEC1 `EC PRIVATE KEY`, as
///   cert-manager writes it): serving certificates for `localhost` and `127.0.0.1`, serverAuth, with
///   different CNs so a rotation is visible;
/// - `client-ca.pem` and `client.pem`/`client.key` (clientAuth) for mTLS;
/// - `evil-ca.pem` and `evil-client.pem`/`evil-client.key`: a client certificate from a CA the server does not trust.
final class TestCertificates: Sendable {
    static let serverACommonName = "nonroot-admission-a"
    static let serverBCommonName = "nonroot-admission-b"

    /// One set per test process: generating is cheap but not free, and the files are only read.
    static let shared: Result<TestCertificates, any Error> = Result { try TestCertificates() }

    static func get() throws -> TestCertificates { try shared.get() }

    private let directory: TemporaryDirectory

    var ca: String { directory.file("ca.pem") }
    var serverA: (cert: String, key: String) { (directory.file("server-a.pem"), directory.file("server-a.key")) }
    var serverB: (cert: String, key: String) { (directory.file("server-b.pem"), directory.file("server-b.key")) }
    var clientCA: String { directory.file("client-ca.pem") }
    var client: (cert: String, key: String) { (directory.file("client.pem"), directory.file("client.key")) }
    var evilCA: String { directory.file("evil-ca.pem") }
    var evilClient: (cert: String, key: String) { (directory.file("evil-client.pem"), directory.file("evil-client.key")) }

    init() throws {
        directory = try TemporaryDirectory("nonroot-it-pki")
        ChildProcesses.removeAtExit(directory.path)
        try makeKey("ca.key")
        try makeCA(name: "ca", commonName: "nonroot-admission test CA")
        try makeKey("client-ca.key")
        try makeCA(name: "client-ca", commonName: "nonroot-admission test client CA")
        try makeKey("evil-ca.key")
        try makeCA(name: "evil-ca", commonName: "nonroot-admission evil CA")

        let serverExtensions = """
            basicConstraints = critical, CA:FALSE
            keyUsage = critical, digitalSignature
            extendedKeyUsage = serverAuth
            subjectAltName = DNS:localhost, IP:127.0.0.1
            """
        try makeKey("server-a.key")
        try makeLeaf(name: "server-a", commonName: Self.serverACommonName, issuer: "ca", extensions: serverExtensions)
        try makeKey("server-b.key", sec1: true)
        try makeLeaf(name: "server-b", commonName: Self.serverBCommonName, issuer: "ca", extensions: serverExtensions)

        let clientExtensions = """
            basicConstraints = critical, CA:FALSE
            keyUsage = critical, digitalSignature
            extendedKeyUsage = clientAuth
            """
        try makeKey("client.key")
        try makeLeaf(name: "client", commonName: "system:apiserver", issuer: "client-ca", extensions: clientExtensions)
        try makeKey("evil-client.key")
        try makeLeaf(name: "evil-client", commonName: "system:apiserver", issuer: "evil-ca", extensions: clientExtensions)
    }

    private func openssl(_ arguments: [String]) throws {
        let result = try Command.runBlocking("openssl", arguments, currentDirectory: directory.url, timeout: .seconds(30))
        guard result.exited, result.status == 0 else {
            throw CommandError("openssl \(arguments.joined(separator: " ")) failed: \(result)")
        }
    }

    private func makeKey(_ name: String, sec1: Bool = false) throws {
        if sec1 {
            try openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", name])
        } else {
            try openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", name])
        }
    }

    private func makeCA(name: String, commonName: String) throws {
        try openssl([
            "req", "-x509", "-new", "-key", "\(name).key", "-sha256", "-days", "30", "-subj", "/CN=\(commonName)",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-out", "\(name).pem",
        ])
    }

    private func makeLeaf(name: String, commonName: String, issuer: String, extensions: String) throws {
        try directory.write("\(name).ext", extensions + "\n")
        try openssl(["req", "-new", "-key", "\(name).key", "-subj", "/CN=\(commonName)", "-out", "\(name).csr"])
        try openssl([
            "x509", "-req", "-in", "\(name).csr", "-CA", "\(issuer).pem", "-CAkey", "\(issuer).key", "-CAcreateserial",
            "-sha256", "-days", "30", "-extfile", "\(name).ext", "-out", "\(name).pem",
        ])
    }
}

/// A serving certificate laid out like a mounted Kubernetes Secret:
///
/// ```
/// dir/tls.crt -> ..data/tls.crt
/// dir/tls.key -> ..data/tls.key
/// dir/..data  -> ..<version>        (swapped atomically by rename, as the kubelet's atomic writer does)
/// ```
final class SecretVolume: @unchecked Sendable {
    let directory: TemporaryDirectory
    private var generation = 0

    var certificate: String { directory.file("tls.crt") }
    var privateKey: String { directory.file("tls.key") }

    init(cert: String, key: String) throws {
        directory = try TemporaryDirectory("nonroot-it-secret")
        let version = try stage(cert: cert, key: key)
        try FileManager.default.createSymbolicLink(atPath: directory.file("..data"), withDestinationPath: version)
        try FileManager.default.createSymbolicLink(atPath: certificate, withDestinationPath: "..data/tls.crt")
        try FileManager.default.createSymbolicLink(atPath: privateKey, withDestinationPath: "..data/tls.key")
    }

    /// Copies the pair into a fresh `..<version>` directory; returns its name.
    private func stage(cert: String, key: String) throws -> String {
        generation += 1
        let version = "..v\(generation)"
        let versionDirectory = directory.url.appendingPathComponent(version)
        try FileManager.default.createDirectory(at: versionDirectory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: cert, toPath: versionDirectory.appendingPathComponent("tls.crt").path)
        try FileManager.default.copyItem(atPath: key, toPath: versionDirectory.appendingPathComponent("tls.key").path)
        return version
    }

    /// Points `..data` at a new copy of the pair: `ln -sfn` to a temporary link, then `mv -T` onto `..data`.
    func swap(cert: String, key: String) throws {
        let version = try stage(cert: cert, key: key)
        let temporary = directory.file("..data_tmp")
        for (tool, arguments) in [("ln", ["-sfn", version, temporary]), ("mv", ["-T", temporary, directory.file("..data")])] {
            let result = try Command.runBlocking(tool, arguments, timeout: .seconds(10))
            guard result.exited, result.status == 0 else { throw CommandError("\(tool) \(arguments) failed: \(result)") }
        }
    }
}
