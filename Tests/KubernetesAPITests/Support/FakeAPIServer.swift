import Foundation
import KubernetesAPI
import TestSupport

/// `fake-apiserver.py serve` in its own scratch folder: answers from `routes`, every request logged
/// so tests assert what reached the server (path, Authorization, Accept).
final class FakeAPIServer: @unchecked Sendable {
    /// One PKI per test process: `ca.pem` signs the server's certificate, `other-ca.pem` a stranger's.
    static let pki: Result<TemporaryDirectory, any Error> = Result {
        let directory = try TemporaryDirectory("nonroot-kapi-pki")
        ChildProcesses.removeAtExit(directory.path)
        try run(["pki", directory.path])
        return directory
    }
    static var script: String { TestPaths.packageRoot.appendingPathComponent("Tests/KubernetesAPITests/Support/fake-apiserver.py").path }

    let scratch: TemporaryDirectory
    let process: Process
    let port: Int
    var baseURL: String { "https://127.0.0.1:\(port)" }
    /// The cluster CA a client of this server must trust.
    let caPath: String
    let tokenPath: String

    /// `certificate` is "server" (signed by `ca.pem`) or "other-server" (signed by `other-ca.pem`).
    init(routes: [String: Route], certificate: String = "server", token: String = "token-1") throws {
        let pki = try FakeAPIServer.pki.get()
        scratch = try TemporaryDirectory("nonroot-kapi-server")
        caPath = pki.file("ca.pem")
        tokenPath = scratch.file("token")
        try scratch.write("token", token)
        try scratch.write("requests.jsonl", "")
        process = Process()
        try FakeAPIServer.write(routes, to: scratch)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", FakeAPIServer.script, "serve", scratch.path, pki.file("\(certificate).pem"), pki.file("\(certificate).key")]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        ChildProcesses.register(process.processIdentifier)
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let more = out.fileHandleForReading.availableData
            if more.isEmpty { break }
            line.append(more)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw FakeServerError(description: "fake-apiserver.py did not print its port")
        }
        self.port = port
    }

    deinit {
        // SIGKILL: a test runner may block SIGTERM, and a blocked mask is inherited.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        ChildProcesses.unregister(process.processIdentifier)
    }

    struct Route {
        var status = 200
        var body: String
        var delay: Double = 0
        var pad = 0
        var chunked = false
    }

    struct Request: Equatable {
        var path: String
        var authorization: String?
        var accept: String?
    }

    func setRoutes(_ routes: [String: Route]) throws { try FakeAPIServer.write(routes, to: scratch) }

    /// Every request received so far, in order.
    func requests() throws -> [Request] {
        let text = try String(contentsOfFile: scratch.file("requests.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
            return Request(path: object["path"] as? String ?? "", authorization: object["authorization"] as? String, accept: object["accept"] as? String)
        }
    }

    /// The in-cluster configuration of a pod talking to this server.
    func configuration(caPath: String? = nil) -> KubernetesClientConfiguration {
        KubernetesClientConfiguration(cluster: InClusterConfiguration(baseURL: baseURL, tokenPath: tokenPath, caPath: caPath ?? self.caPath))
    }

    private static func write(_ routes: [String: Route], to scratch: TemporaryDirectory) throws {
        var table: [String: Any] = [:]
        for (path, route) in routes {
            let body: Any = (try? JSONSerialization.jsonObject(with: Data(route.body.utf8))) ?? route.body
            table[path] = ["status": route.status, "body": body, "delay": route.delay, "pad": route.pad, "chunked": route.chunked]
        }
        // Written whole and renamed, so the server never reads half a file.
        let data = try JSONSerialization.data(withJSONObject: table)
        try scratch.write("routes.json.new", bytes: data)
        guard rename(scratch.file("routes.json.new"), scratch.file("routes.json")) == 0 else {
            throw FakeServerError(description: "cannot replace routes.json")
        }
    }

    private static func run(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script] + arguments
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw FakeServerError(description: "fake-apiserver.py \(arguments.first ?? "") failed: \(String(decoding: message, as: UTF8.self))")
        }
    }
}

struct FakeServerError: Error, CustomStringConvertible {
    var description: String
}
