import Foundation
public import Testing

/// The registry test bed that `scripts/registry-fixture.sh start` runs on 127.0.0.1: real
/// `docker-registry` processes (plain, TLS, basic auth, bearer tokens, a redirecting one) and a
/// fault-injecting, request-counting proxy.
public struct RegistryFixture: Sendable {
    public let environment: [String: String]
    public let images: [Image]

    /// One pushed reference, from fixtures.json.
    public struct Image: Sendable {
        public var repository: String
        public var tag: String
        public var format: String
        public var digest: String
        public var mediaType: String
        /// `config.User`; nil when absent. For an index: by platform.
        public var user: String?
        public var usersByPlatform: [String: String]?
    }

    /// The fixture, or nil when it is not running: a printed note locally, a test failure when `CI=true`
    /// (CI starts it and must never skip these tests).
    public static func required(sourceLocation: SourceLocation = #_sourceLocation) -> RegistryFixture? {
        if let fixture = running { return fixture }
        let hint = "start it with: bash scripts/registry-fixture.sh start (then export REGFIX_DIR)"
        if TestPaths.isCI {
            Issue.record("the registry fixture is not running and CI=true never skips; \(hint)", sourceLocation: sourceLocation)
        } else {
            print("note: registry fixture not running; skipping. \(hint)")
        }
        return nil
    }

    /// The fixture as probed once per test process: each probe is a curl with a 2 s limit, and a
    /// missing fixture would otherwise cost every registry test its own 2 s.
    static let running: RegistryFixture? = load()

    static func load() -> RegistryFixture? {
        let environment = ProcessInfo.processInfo.environment
        let directory = environment["REGFIX_DIR"] ?? ((environment["TMPDIR"] ?? "/tmp") + "/nonroot-registry-fixture")
        guard let text = try? String(contentsOfFile: directory + "/env", encoding: .utf8),
              FileManager.default.fileExists(atPath: directory + "/pids") else { return nil }
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            values[String(line[..<equals])] = String(line[line.index(after: equals)...]).trimmingCharacters(in: CharacterSet(charactersIn: "'\""))
        }
        // Alive: the plain registry answers.
        guard let plain = values["REGFIX_PLAIN_URL"], (try? curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "2", plain + "/v2/"])) == "200" else {
            return nil
        }
        guard let fixturesPath = values["REGFIX_FIXTURES"], let data = FileManager.default.contents(atPath: fixturesPath),
              let list = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]] else { return nil }
        let images = list.compactMap { entry -> Image? in
            guard let repository = entry["repo"] as? String, let tag = entry["tag"] as? String, let digest = entry["digest"] as? String else { return nil }
            return Image(
                repository: repository, tag: tag, format: entry["format"] as? String ?? "", digest: digest,
                mediaType: entry["mediaType"] as? String ?? "", user: entry["user"] as? String,
                usersByPlatform: entry["user"] as? [String: String])
        }
        return RegistryFixture(environment: values, images: images)
    }

    /// `host:port` of a URL variable, e.g. `registry(\.plain)` → `127.0.0.1:5100`.
    public func host(_ variable: String) -> String {
        let url = environment[variable] ?? ""
        return String(url.split(separator: "/").dropFirst().first ?? "")
    }

    public var plain: String { host("REGFIX_PLAIN_URL") }
    public var faults: String { host("REGFIX_FAULTS_URL") }
    public var basic: String { host("REGFIX_BASIC_URL") }
    public var token: String { host("REGFIX_TOKEN_URL") }
    public var tls: String { host("REGFIX_TLS_URL") }
    public var redirect: String { host("REGFIX_REDIRECT_URL") }
    public var caCertificate: String { environment["REGFIX_CA_CERT"] ?? "" }
    public var dockerConfig: String { environment["REGFIX_DOCKER_CONFIG"] ?? "" }

    /// Requests the fault proxy has counted, by `METHOD path`.
    public func requestCounts() throws -> [String: Int] {
        let text = try RegistryFixture.curl(["-s", "--max-time", "5", environment["REGFIX_FAULTS_STATS_URL"] ?? ""])
        guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
              let rows = object["requests"] as? [[String: Any]] else { return [:] }
        var counts: [String: Int] = [:]
        for row in rows {
            if let method = row["method"] as? String, let path = row["path"] as? String, let count = row["count"] as? Int {
                counts["\(method) \(path)"] = count
            }
        }
        return counts
    }

    /// Counts since `before`, for the paths that contain `fragment`.
    public func requestsSince(_ before: [String: Int], containing fragment: String) throws -> [String: Int] {
        var delta: [String: Int] = [:]
        for (key, count) in try requestCounts() where key.contains(fragment) {
            let added = count - (before[key] ?? 0)
            if added > 0 { delta[key] = added }
        }
        return delta
    }

    /// GETs a fixture URL (for example the fault proxy's `/_fault/reset`).
    public static func curlForTests(_ url: String) throws -> String {
        try curl(["-s", "--max-time", "5", url])
    }

    static func curl(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["curl"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}

/// AdmissionReviews built for registry tests.
public enum TestReviews {
    /// A v1 AdmissionReview creating Pod `shop/web` (uid `pod-uid`) with one container `app` running
    /// `image` under `runAsNonRoot: true` and no runAsUser.
    public static func pod(uid: String, image: String, images more: [String] = []) -> String {
        let containers = ([image] + more).enumerated().map { index, image in
            #"{"name":"\#(index == 0 ? "app" : "app\(index)")","image":"\#(image)","securityContext":{"runAsNonRoot":true}}"#
        }.joined(separator: ",")
        return #"""
        {"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"\#(uid)","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"name":"web","namespace":"shop","operation":"CREATE","userInfo":{"username":"alice"},"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"shop","uid":"pod-uid"},"spec":{"containers":[\#(containers)]}}}}
        """#
    }
}
