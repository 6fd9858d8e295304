import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

extension ServerIntegrationTests {
    /// `serve --registry --pull-secrets`: a pod's `imagePullSecrets` are read from a loopback stand-in for the
    /// API server (the API server's exact JSON) and used for the lookup on the fixture's basic-auth registry.
    @Suite("pull secrets through serve")
    struct PullSecretServe {
        /// Runs Tests/KubernetesAPITests/Support/fake-apiserver.py with `routes`; returns its port and directory.
        static func apiserver(_ scratch: TemporaryDirectory, routes: [String: Any]) throws -> (port: Int, directory: String, process: Process) {
            let script = TestPaths.packageRoot.appendingPathComponent("Tests/KubernetesAPITests/Support/fake-apiserver.py").path
            let directory = scratch.path
            let pki = Process()
            pki.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            pki.arguments = [script, "pki", directory]
            try pki.run()
            pki.waitUntilExit()
            try JSONSerialization.data(withJSONObject: routes).write(to: URL(fileURLWithPath: directory + "/routes.json"))
            let serve = Process()
            serve.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            serve.arguments = [script, "serve", directory, directory + "/server.pem", directory + "/server.key"]
            let output = Pipe()
            serve.standardOutput = output
            // Not the test runner's: a child holding them would keep `swift test` waiting.
            serve.standardError = FileHandle.nullDevice
            serve.standardInput = FileHandle.nullDevice
            try serve.run()
            var line = Data()
            while !line.contains(UInt8(ascii: "\n")) {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                line.append(chunk)
            }
            guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
                stop(serve)
                throw CommandError("fake apiserver printed no port: \(String(decoding: line, as: UTF8.self))")
            }
            return (port, directory, serve)
        }

        /// SIGKILL: a test runner may block SIGTERM, and a blocked mask is inherited.
        static func stop(_ process: Process) {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }

        @Test func aPodsPullSecretOpensItsPrivateRegistry() async throws {
            guard let fixture = RegistryFixture.required() else { return }
            let certificates = try TestCertificates.get()
            let scratch = try TemporaryDirectory()
            let config = #"{"auths":{"\#(fixture.basic)":{"username":"testuser","password":"testpassword"}}}"#
            let secret: [String: Any] = [
                "kind": "Secret", "apiVersion": "v1", "metadata": ["name": "regcred", "namespace": "shop"],
                "type": "kubernetes.io/dockerconfigjson", "data": [".dockerconfigjson": Data(config.utf8).base64EncodedString()],
            ]
            let api = try Self.apiserver(scratch, routes: ["/api/v1/namespaces/shop/secrets/regcred": ["status": 200, "body": secret]])
            defer { Self.stop(api.process) }
            let token = try scratch.write("token", "token-one")
            let arguments = ServerProcess.standardArguments(cert: certificates.serverA.cert, key: certificates.serverA.key) + RegistryServe.arguments(fixture) + [
                "--pull-secrets", "--kubernetes-token-file", token, "--kubernetes-ca-file", api.directory + "/ca.pem",
            ]
            let server = try await ServerProcess.start(arguments: arguments, environment: ["KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": String(api.port)])
            defer { server.kill() }
            let image = "\(fixture.basic)/oci/users:user-1000"
            let withSecret = TestReviews.pod(uid: "u-secret", image: image)
                .replacingOccurrences(of: #""spec":{"containers""#, with: #""spec":{"imagePullSecrets":[{"name":""},{"name":"regcred"}],"containers""#)
            let allowed = try await Curl.request(server.url(), body: .text(withSecret))
            #expect(allowed.bodyText == Examples.reviewBody(#"{"uid":"u-secret","allowed":true}"#), "\(allowed.bodyText)\n\(server.logTail)")
            // The secret was read by name with the webhook's token; the empty name was skipped, as the kubelet does.
            let requests = try String(contentsOfFile: api.directory + "/requests.jsonl", encoding: .utf8)
            #expect(requests.contains(#""path": "/api/v1/namespaces/shop/secrets/regcred""#) || requests.contains(#""path":"/api/v1/namespaces/shop/secrets/regcred""#), "\(requests)")
            #expect(requests.contains("Bearer token-one"), "\(requests)")
            #expect(!requests.contains("secrets/\""), "\(requests)")
            // Without the secret the registry refuses the anonymous lookup: cannot verify, allowed with a warning.
            let anonymous = try await Curl.request(server.url(), body: .text(TestReviews.pod(uid: "u-anon", image: "\(fixture.basic)/oci/users:user-1000")))
            #expect(anonymous.bodyText.contains(#""allowed":true,"warnings":["container \"app\": cannot verify the USER of image \#(image): "#), "\(anonymous.bodyText)")
            // No credential reaches the log.
            #expect(!server.logTail.contains("testpassword"))
        }
    }
}
