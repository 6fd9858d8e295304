import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
import TestSupport

/// The real `nonroot-admission` executable on real files: outputs, exit codes, bad input.
@Suite(.serialized)
struct CommandLineTests {
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static let executable = TestPaths.packageRoot.appendingPathComponent(".build/debug/nonroot-admission")

    func run(_ arguments: [String]) throws -> Run {
        guard FileManager.default.isExecutableFile(atPath: Self.executable.path) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "build the executable first: swift build --product nonroot-admission"])
        }
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = arguments
        process.currentDirectoryURL = TestPaths.packageRoot
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }

    func temporaryFile(_ name: String, _ contents: String) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nonroot-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let url = directory.appendingPathComponent(name)
        try contents.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    @Test func replayExamplesAsJSON() throws {
        let result = try run(["replay", "Examples/reviews", "--images", "Examples/images.yaml", "--format", "json"])
        #expect(result.status == 1)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 6)
        #expect(lines[0] == #"{"source":"Examples/reviews/01-allowed-numeric-user.json","response":{"uid":"0f6e3c6a-1b52-4f8e-9d0a-6a1f3e9b2c01","allowed":true}}"#)
        #expect(lines[1] == #"{"source":"Examples/reviews/02-denied-image-runs-as-root.json","response":{"uid":"0f6e3c6a-1b52-4f8e-9d0a-6a1f3e9b2c02","allowed":false,"status":{"status":"Failure","message":"container has runAsNonRoot and image will run as root (pod: \"web-5d8f7c9b4-7hm2p_shop(3c1f2a44-8b0e-4c5d-9e6f-0a1b2c3d4e02)\", container: nginx)","reason":"Forbidden","code":403},"warnings":["container \"nginx\": image nginx:1.27 has no USER, so it runs as root; set a numeric non-root USER (e.g. 65532) in its Dockerfile or set securityContext.runAsUser"]}}"#)
        #expect(lines[2].contains(#""message":"container has runAsNonRoot and image has non-numeric user (app), cannot verify user is non-root (pod: \"shop-frontend-0_shop(3c1f2a44-8b0e-4c5d-9e6f-0a1b2c3d4e03)\", container: app)""#))
        #expect(lines[3] == #"{"source":"Examples/reviews/04-allowed-runasuser-overrides-image.json","response":{"uid":"0f6e3c6a-1b52-4f8e-9d0a-6a1f3e9b2c04","allowed":true}}"#)
        #expect(lines[4].contains(#""message":"container has runAsNonRoot and image will run as root (deployment: \"shop/worker\", container: migrate); container's runAsUser breaks non-root policy (deployment: \"shop/worker\", container: worker)""#))
        #expect(lines[5] == #"{"source":"Examples/reviews/06-allowed-update-without-image-change.json","response":{"uid":"0f6e3c6a-1b52-4f8e-9d0a-6a1f3e9b2c06","allowed":true},"notEvaluated":"UPDATE changes no container image or security context"}"#)
        #expect(result.stderr.isEmpty)
    }

    @Test func replayExamplesAsText() throws {
        let result = try run(["replay", "Examples/reviews", "--images", "Examples/images.yaml"])
        #expect(result.status == 1)
        #expect(result.stdout.hasPrefix("DECISION    KIND                  OPERATION  NAMESPACE/NAME                          SOURCE\n"))
        #expect(result.stdout.contains("denied      Pod                   CREATE     shop/web-5d8f7c9b4-7hm2p                Examples/reviews/02-denied-image-runs-as-root.json\n"))
        #expect(result.stdout.hasSuffix("6 reviews: 3 allowed, 3 denied, 0 would deny (dry-run), 0 unreadable, 1 not evaluated\n"))
    }

    @Test func dryRunExitsZeroAndRecordsWouldDeny() throws {
        let result = try run(["replay", "Examples/reviews", "--images", "Examples/images.yaml", "--mode", "dry-run"])
        #expect(result.status == 0)
        #expect(result.stdout.hasSuffix("6 reviews: 3 allowed, 0 denied, 3 would deny (dry-run), 0 unreadable, 1 not evaluated\n"))
    }

    @Test func junitReport() throws {
        let result = try run(["replay", "Examples/reviews", "--images", "Examples/images.yaml", "--format", "junit"])
        #expect(result.status == 1)
        #expect(result.stdout.contains(#"<testsuites name="nonroot-admission replay" tests="6" failures="3" errors="0" skipped="1">"#))
        let document = try XMLDocument(data: Data(result.stdout.utf8))
        #expect(try document.nodes(forXPath: "//testcase").count == 6)
        #expect(try document.nodes(forXPath: "//failure").count == 3)
        let skipped = try document.nodes(forXPath: "//testcase[skipped]/@name").map { $0.stringValue ?? "" }
        #expect(skipped == ["Examples/reviews/06-allowed-update-without-image-change.json shop/web-5d8f7c9b4-7hm2p"])
    }

    @Test func unknownImagesWarnByDefaultAndDenyOnRequest() throws {
        let warned = try run(["replay", "Examples/reviews/02-denied-image-runs-as-root.json", "--format", "json"])
        #expect(warned.status == 0)
        #expect(warned.stdout.contains(#"cannot verify the USER of image nginx:1.27: not in the image catalog; allowed by --unresolved=warn"#))
        let denied = try run(["replay", "Examples/reviews/02-denied-image-runs-as-root.json", "--unresolved", "deny", "--format", "json"])
        #expect(denied.status == 1)
    }

    @Test func malformedJSONNamesFileAndPosition() throws {
        let path = try temporaryFile("broken.json", "{\n  \"apiVersion\": \"admission.k8s.io/v1\",\n  \"kind\": \n}\n")
        let result = try run(["replay", path, "--format", "json"])
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains(path))
        #expect(result.stderr.contains("4:1"))
    }

    @Test func badLineInJSONLinesDoesNotHideTheOthers() throws {
        let good = try String(contentsOf: TestPaths.packageRoot.appendingPathComponent("Examples/reviews/02-denied-image-runs-as-root.json"), encoding: .utf8)
        let compact = String(decoding: try JSONSerialization.data(withJSONObject: JSONSerialization.jsonObject(with: Data(good.utf8))), as: UTF8.self)
        let path = try temporaryFile("reviews.jsonl", compact + "\n{not json}\n" + compact + "\n")
        let result = try run(["replay", path, "--images", "Examples/images.yaml", "--format", "json"])
        #expect(result.status == 2)
        #expect(result.stdout.split(separator: "\n").count == 2)
        #expect(result.stderr.contains("\(path):2:"))
    }

    @Test func notAReview() throws {
        let path = try temporaryFile("pod.json", #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"}}"#)
        let result = try run(["replay", path])
        #expect(result.status == 2)
        #expect(result.stderr.contains("not an AdmissionReview, AdmissionRequest or audit Event"))
    }

    @Test func unreadableCatalog() throws {
        let path = try temporaryFile("images.yaml", "images: [nginx]\n")
        let result = try run(["replay", "Examples/reviews", "--images", path])
        #expect(result.status == 2)
        #expect(result.stderr == "error: \(path):1: \"images\" must map image references to USER strings\n")
        let missing = try run(["replay", "Examples/reviews", "--images", "/nonexistent/images.yaml"])
        #expect(missing.status == 2)
    }

    @Test func checkManifests() throws {
        let result = try run(["check", "Examples/manifests/shop.yaml", "--images", "Examples/images.yaml", "--format", "json"])
        #expect(result.status == 1)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines[0].contains(#""message":"container has runAsNonRoot and image will run as root (deployment: \"shop/web\", container: nginx)""#))
        #expect(lines[1] == #"{"source":"Examples/manifests/shop.yaml#2","response":{"uid":"","allowed":true},"notEvaluated":"kind Service carries no pod spec"}"#)
        #expect(lines[2] == #"{"source":"Examples/manifests/shop.yaml#3","response":{"uid":"","allowed":true}}"#)
    }

    /// Go and the apiserver merge the two `spec` members; we used to keep the last one whole, so a
    /// root init container in the first one passed `check --policy restricted`.
    @Test func duplicateSpecIsRefused() throws {
        let catalog = try temporaryFile("images.yaml", "images:\n  nginx: \"65532\"\n")
        let rootSpec = #""spec": {"initContainers": [{"name": "root", "image": "nginx", "securityContext": {"runAsUser": 0}}], "containers": [{"name": "app", "image": "nginx"}]}"#
        let cleanSpec = #""spec": {"securityContext": {"runAsNonRoot": true}, "containers": [{"name": "app", "image": "nginx"}]}"#
        let head = #"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},"#
        // Each spec alone: the first is denied, the second allowed, so keeping either one decides.
        let rootOnly = try run(["check", try temporaryFile("root.json", head + "\n " + rootSpec + "}\n"), "--policy", "restricted", "--images", catalog])
        #expect(rootOnly.status == 1, "\(rootOnly.stdout)")
        let cleanOnly = try run(["check", try temporaryFile("clean.json", head + "\n " + cleanSpec + "}\n"), "--policy", "restricted", "--images", catalog])
        #expect(cleanOnly.status == 0, "\(cleanOnly.stdout)")

        let both = try temporaryFile("pod.json", head + "\n " + rootSpec + ",\n " + cleanSpec + "}\n")
        for format in ["text", "json", "junit"] {
            let result = try run(["check", both, "--policy", "restricted", "--images", catalog, "--format", format])
            #expect(result.status == 2)
            #expect(result.stderr == "error: \(both):3:2: duplicate key \"spec\"\n")
        }
        let yaml = try temporaryFile("pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: []}\nspec: {containers: []}\n")
        let yamlResult = try run(["check", yaml])
        #expect(yamlResult.status == 2)
        #expect(yamlResult.stderr == "error: \(yaml):4:1: invalid YAML: duplicate key \"spec\" in a mapping\n")
    }

    @Test func duplicateKeysInAReviewAreRefusedByReplay() throws {
        let good = try String(contentsOf: TestPaths.packageRoot.appendingPathComponent("Examples/reviews/02-denied-image-runs-as-root.json"), encoding: .utf8)
        let object = try #require(good.range(of: "\"object\":"))
        let path = try temporaryFile("review.json", good.replacingCharacters(in: object, with: "\"dryRun\": true, \"dryRun\": false, \"object\":"))
        let result = try run(["replay", path, "--images", "Examples/images.yaml", "--format", "json"])
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.hasPrefix("error: \(path):"))
        #expect(result.stderr.hasSuffix(": duplicate key \"dryRun\"\n"))
    }

    @Test func knownKindUnderUnservedAPIVersionIsAnError() throws {
        let path = try temporaryFile("deploy.yaml", "apiVersion: v1\nkind: Deployment\nmetadata: {name: web}\nspec: {template: {spec: {containers: [{name: app, image: nginx}]}}}\n")
        let result = try run(["check", path, "--format", "json"])
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr == "error: \(path): kind Deployment has apiVersion \"v1\", which Kubernetes does not serve; expected apps/v1\n")
    }

    /// A Service carries no pod spec: allowed, and said to be not evaluated in every format.
    @Test func objectsNotEvaluatedAreReportedInEveryFormat() throws {
        let path = try temporaryFile("mixed.yaml", """
            apiVersion: v1
            kind: Service
            metadata: {name: web, namespace: shop}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: web, namespace: shop}
            spec: {securityContext: {runAsUser: 1000}, containers: [{name: app, image: nginx}]}
            """)
        let json = try run(["check", path, "--format", "json"])
        #expect(json.status == 0)
        #expect(json.stdout == #"{"source":"\#(path)#1","response":{"uid":"","allowed":true},"notEvaluated":"kind Service carries no pod spec"}"# + "\n"
            + #"{"source":"\#(path)#2","response":{"uid":"","allowed":true}}"# + "\n")
        let text = try run(["check", path])
        #expect(text.status == 0)
        #expect(text.stdout.contains("allowed     Service               CREATE     shop/web                                \(path)#1\n    not evaluated: kind Service carries no pod spec\n"))
        #expect(text.stdout.hasSuffix("2 reviews: 2 allowed, 0 denied, 0 would deny (dry-run), 0 unreadable, 1 not evaluated\n"))
        let junit = try run(["check", path, "--format", "junit"])
        #expect(junit.status == 0)
        #expect(junit.stdout.contains(#"<testsuites name="nonroot-admission check" tests="2" failures="0" errors="0" skipped="1">"#))
        #expect(junit.stdout.contains(#"<testcase classname="Service" name="\#(path)#1 shop/web">"# + "\n"
            + #"      <skipped message="not evaluated: kind Service carries no pod spec"/>"# + "\n    </testcase>"))
        let document = try XMLDocument(data: Data(junit.stdout.utf8))
        #expect(try document.nodes(forXPath: "//testcase").count == 2)
        #expect(try document.nodes(forXPath: "//skipped").count == 1)
    }

    @Test(.needsConformanceData) func recordedReviewsReplayClean() throws {
        guard let conformance = try TestPaths.conformanceData() else { return }
        let result = try run(["replay", conformance.appendingPathComponent("recorded-reviews").path, "--format", "json"])
        #expect(result.status == 0)
        #expect(result.stdout.split(separator: "\n").count == 26)
    }

    /// PSA's runAsNonRoot* and runAsUser* fixtures under restricted, with a numeric USER for their image.
    @Test(.needsConformanceData) func podSecurityFixturesUnderRestricted() throws {
        guard let conformance = try TestPaths.conformanceData() else { return }
        let catalog = try temporaryFile("images.yaml", "images:\n  registry.k8s.io/pause: \"65535:65535\"\n")
        for outcome in ["pass", "fail"] {
            let directory = conformance.appendingPathComponent("psa-fixtures/restricted/v1.37/\(outcome)")
            let fixtures = TestPaths.files(in: directory, withExtension: "yaml").filter {
                $0.lastPathComponent.hasPrefix("runasnonroot") || $0.lastPathComponent.hasPrefix("runasuser")
            }
            #expect(fixtures.count == (outcome == "pass" ? 3 : 7))
            for fixture in fixtures {
                let result = try run(["check", fixture.path, "--policy", "restricted", "--images", catalog, "--format", "json"])
                #expect(result.status == (outcome == "pass" ? 0 : 1), "\(fixture.lastPathComponent): \(result.stdout)\(result.stderr)")
            }
        }
    }
}
