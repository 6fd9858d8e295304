import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The install tree (deploy/, certs/, Dockerfile) and what the tests need to drive it.
enum Install {
    static let root = TestPaths.packageRoot
    static let deploy = root.appendingPathComponent("deploy")
    static let generateScript = root.appendingPathComponent("certs/generate.sh").path
    static let executable = root.appendingPathComponent(".build/debug/nonroot-admission").path

    /// The Service and namespace that deploy/ uses, and so the arguments of certs/generate.sh.
    static let service = "nonroot-admission"
    static let namespace = "nonroot-admission"
    static var host: String { "\(service).\(namespace).svc" }

    /// The paths `serve` answers AdmissionReviews on (README, "Endpoints").
    static let servedPaths: Set<String> = ["/validate", "/validate/enforce", "/validate/dry-run"]

    /// The overlays the README documents; the tests also cover any other folder under deploy/overlays.
    static let documentedOverlays = ["dry-run", "enforce", "cert-manager", "cert-manager-enforce"]

    static var overlays: [String] {
        let found = (try? FileManager.default.contentsOfDirectory(atPath: deploy.appendingPathComponent("overlays").path)) ?? []
        return Array(Set(found + documentedOverlays)).sorted()
    }

    /// The kinds deploy/ renders that have no namespace.
    static let clusterScopedKinds: Set<String> = ["Namespace", "ValidatingWebhookConfiguration", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"]

    /// Overlays whose webhook may deny (mode enforce).
    static func enforces(_ overlay: String) -> Bool { overlay.contains("enforce") }

    /// Overlays that take the certificates from cert-manager rather than certs/generate.sh.
    static func usesCertManager(_ overlay: String) -> Bool { overlay.hasPrefix("cert-manager") }

    static func requireExecutable() throws -> String {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw InstallTestError("build the executable first: swift build --product nonroot-admission")
        }
        return executable
    }

    /// Runs certs/generate.sh SERVICE NAMESPACE OUTDIR.
    @discardableResult
    static func generateCertificates(into outdir: String, service: String = service, namespace: String = namespace,
                                     environment: [String: String] = [:]) async throws -> String {
        try await Shell.check("bash", [generateScript, service, namespace, outdir], environment: environment, timeout: .seconds(60))
    }
}

/// One overlay rendered with `kubectl kustomize`, from a copy of deploy/ next to freshly generated
/// certificates (the overlays include ../../../certs/out), so the work tree is never written to.
struct RenderedOverlay: @unchecked Sendable {
    let overlay: String
    let scratch: TemporaryDirectory
    let yaml: String
    let file: String
    let documents: [[String: Any]]

    var certificates: String { scratch.file("certs/out") }

    /// The overlay rendered once per test run and shared (read-only) by the tests that ask for it.
    static func render(_ overlay: String) async throws -> RenderedOverlay {
        try await RenderCache.shared.rendered(overlay)
    }

    /// A fresh rendering, in its own scratch folder.
    /// `edit` may change the copy of deploy/ first.
    static func renderAnew(_ overlay: String, edit: ((URL) throws -> Void)? = nil) async throws -> RenderedOverlay {
        let scratch = try TemporaryDirectory("nonroot-install-\(overlay)")
        try FileManager.default.copyItem(at: Install.deploy, to: scratch.url.appendingPathComponent("deploy"))
        try edit?(scratch.url.appendingPathComponent("deploy"))
        try FileManager.default.createDirectory(at: scratch.url.appendingPathComponent("certs"), withIntermediateDirectories: true)
        try await Install.generateCertificates(into: scratch.file("certs/out"))
        let result = try await Shell.run("kubectl", ["kustomize", scratch.file("deploy/overlays/\(overlay)")], timeout: .seconds(60))
        guard result.succeeded else { throw InstallTestError("kubectl kustomize deploy/overlays/\(overlay) failed: \(result)") }
        let file = try scratch.write("rendered.yaml", result.stdout)
        return RenderedOverlay(overlay: overlay, scratch: scratch, yaml: result.stdout, file: file, documents: try YAML.documents(file))
    }

    /// The dry-run overlay plus `components` (under deploy/components) as overlays/NAME, rendered from a
    /// scratch copy of deploy/; `extra` is appended to its kustomization.yaml.
    static func renderDryRun(as name: String, with components: [String], extra: String = "") async throws -> RenderedOverlay {
        try await renderAnew(name) { deploy in
            let overlay = deploy.appendingPathComponent("overlays/\(name)")
            try FileManager.default.createDirectory(at: overlay, withIntermediateDirectories: true)
            let listed = (["dry-run"] + components).map { "- ../../components/\($0)\n" }.joined()
            let text = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- ../../base\ncomponents:\n"
                + listed + "- ../../../certs/out\n" + extra
            try text.write(to: overlay.appendingPathComponent("kustomization.yaml"), atomically: true, encoding: .utf8)
        }
    }

    /// kubernetes-validate (Kubernetes 1.30 schemas, strict) on the rendered file: the result, and how
    /// many resources it says passed.
    func validate() async throws -> (result: ShellResult, passed: Int) {
        let result = try await Shell.run("python3", ["-m", "kubernetes_validate", "-k", "1.30.0", "--strict", file], timeout: .seconds(120))
        let passed = (result.stdout + result.stderr).split(separator: "\n").filter { $0.hasPrefix("INFO") && $0.contains(" passed for resource ") }
        return (result, passed.count)
    }

    func objects(kind: String) -> [[String: Any]] { documents.filter { $0["kind"] as? String == kind } }

    func object(kind: String, name: String? = nil) throws -> [String: Any] {
        let matching = objects(kind: kind).filter { name == nil || $0[path: "metadata.name"] as? String == name }
        guard matching.count == 1, let object = matching.first else {
            throw InstallTestError("\(overlay): expected one \(kind)\(name.map { " \($0)" } ?? ""), found \(matching.count)")
        }
        return object
    }

    var deployment: [String: Any] { get throws { try object(kind: "Deployment", name: "nonroot-admission") } }
    var webhookConfiguration: [String: Any] { get throws { try object(kind: "ValidatingWebhookConfiguration", name: "nonroot-admission") } }
    var webhooks: [[String: Any]] { get throws { try webhookConfiguration["webhooks"] as? [[String: Any]] ?? [] } }

    /// The webhook container of the Deployment.
    var container: [String: Any] {
        get throws {
            let containers = try deployment[path: "spec.template.spec.containers"] as? [[String: Any]] ?? []
            guard let container = containers.first(where: { $0["name"] as? String == "webhook" }) else {
                throw InstallTestError("\(overlay): no container named webhook")
            }
            return container
        }
    }

    /// The container's `NONROOT_ADMISSION_*` variables (plain values only).
    var environment: [String: String] {
        get throws {
            var result: [String: String] = [:]
            for variable in try container["env"] as? [[String: Any]] ?? [] {
                if let name = variable["name"] as? String, let value = variable["value"] as? String { result[name] = value }
            }
            return result
        }
    }
}

/// Renders each overlay once; the scratch folders are removed at exit.
actor RenderCache {
    static let shared = RenderCache()
    private var tasks: [String: Task<RenderedOverlay, any Error>] = [:]

    func rendered(_ overlay: String) async throws -> RenderedOverlay {
        if let task = tasks[overlay] { return try await task.value }
        let task = Task { () throws -> RenderedOverlay in
            let rendered = try await RenderedOverlay.renderAnew(overlay)
            // The cache keeps `rendered` (and its directory) alive; remove the directory at exit.
            ChildProcesses.removeAtExit(rendered.scratch.path)
            return rendered
        }
        tasks[overlay] = task
        return try await task.value
    }
}

/// YAML read through PyYAML (which kubernetes-validate brings), as Foundation JSON objects.
enum YAML {
    static func documents(_ file: String) throws -> [[String: Any]] {
        let script = "import json, sys, yaml\njson.dump([d for d in yaml.safe_load_all(open(sys.argv[1])) if d is not None], sys.stdout)"
        let process = Process()
        guard let python = Shell.which("python3") else { throw InstallTestError("python3 is required") }
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", script, file]
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw InstallTestError("cannot read \(file) as YAML (is PyYAML installed? scripts/test.sh installs kubernetes-validate, which brings it): \(String(decoding: errors, as: UTF8.self))")
        }
        guard let documents = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] else {
            throw InstallTestError("\(file): not a list of objects")
        }
        return documents
    }
}

extension Dictionary where Key == String, Value == Any {
    /// A dotted path into nested objects: `spec.template.spec`.
    subscript(path path: String) -> Any? {
        var current: Any? = self
        for key in path.split(separator: ".") {
            current = (current as? [String: Any])?[String(key)]
        }
        return current
    }
}

/// A `nonroot-admission serve` process on loopback ports chosen by the kernel.
final class ServeProcess: @unchecked Sendable {
    let process: Process
    let logFile: String
    let port: Int
    let metricsPort: Int
    private let scratch: TemporaryDirectory

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }
    var log: String { (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "" }

    static func start(_ arguments: [String]) async throws -> ServeProcess {
        let executable = try Install.requireExecutable()
        let scratch = try TemporaryDirectory("nonroot-install-serve")
        let logFile = scratch.file("stderr.log")
        _ = FileManager.default.createFile(atPath: logFile, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["serve", "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--shutdown-delay", "0s"] + arguments
        process.currentDirectoryURL = TestPaths.packageRoot
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("NONROOT_ADMISSION_") }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logFile))
        try process.run()
        ChildProcesses.register(process.processIdentifier)
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline {
            let text = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n") {
                guard let record = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any],
                      record["message"] as? String == "serving" else { continue }
                guard let port = (record["listen"] as? String).flatMap(Self.port(in:)),
                      let metricsPort = (record["metricsListen"] as? String).flatMap(Self.port(in:)) else {
                    kill(process.processIdentifier, SIGKILL)
                    throw InstallTestError("cannot read the ports from \(line)")
                }
                return ServeProcess(process: process, logFile: logFile, port: port, metricsPort: metricsPort, scratch: scratch)
            }
            if !process.isRunning { throw InstallTestError("serve exited with \(process.terminationStatus):\n\(text)") }
            try await Task.sleep(for: .milliseconds(20))
        }
        kill(process.processIdentifier, SIGKILL)
        throw InstallTestError("serve did not log \"serving\" within 15 s")
    }

    private init(process: Process, logFile: String, port: Int, metricsPort: Int, scratch: TemporaryDirectory) {
        self.process = process
        self.logFile = logFile
        self.port = port
        self.metricsPort = metricsPort
        self.scratch = scratch
    }

    /// SIGTERM, then SIGKILL if it has not exited within 10 s.
    func stop() async {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = ContinuousClock.now + .seconds(10)
        while process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        ChildProcesses.unregister(process.processIdentifier)
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    static func with<T>(_ arguments: [String], _ body: (ServeProcess) async throws -> T) async throws -> T {
        let server = try await start(arguments)
        do {
            let result = try await body(server)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }

    /// The digits after the last colon of `[IPv4]127.0.0.1/127.0.0.1:43215`.
    static func port(in address: String) -> Int? {
        guard let colon = address.lastIndex(of: ":") else { return nil }
        return Int(address[address.index(after: colon)...])
    }
}

/// What the server presents to a client that asks for `serverName`.
enum Handshake {
    /// The serving certificate's serial in hex (openssl's spelling), from `openssl s_client`.
    static func servedSerial(port: Int, serverName: String, caFile: String) async throws -> (serial: String, verified: Bool) {
        let connect = try await Shell.run("openssl", [
            "s_client", "-connect", "127.0.0.1:\(port)", "-servername", serverName, "-verify_hostname", serverName,
            "-CAfile", caFile, "-showcerts",
        ], stdin: "", timeout: .seconds(15))
        guard let begin = connect.stdout.range(of: "-----BEGIN CERTIFICATE-----"),
              let end = connect.stdout.range(of: "-----END CERTIFICATE-----", range: begin.upperBound..<connect.stdout.endIndex) else {
            throw InstallTestError("no certificate in the handshake: \(connect)")
        }
        let pem = String(connect.stdout[begin.lowerBound..<end.upperBound]) + "\n"
        let serial = try await Shell.run("openssl", ["x509", "-noout", "-serial"], stdin: pem)
        guard serial.succeeded, let value = serial.stdout.split(separator: "=").last else { throw InstallTestError("cannot read the serial: \(serial)") }
        return (value.trimmingCharacters(in: .whitespacesAndNewlines), connect.stdout.contains("Verify return code: 0 (ok)"))
    }

    /// The serial of a certificate file.
    static func serial(of file: String) async throws -> String {
        let out = try await Shell.check("openssl", ["x509", "-in", file, "-noout", "-serial"])
        guard let value = out.split(separator: "=").last else { throw InstallTestError("no serial in \(out)") }
        return value.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
