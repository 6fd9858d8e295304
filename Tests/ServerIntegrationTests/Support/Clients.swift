import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// One HTTP exchange as curl saw it.
struct HTTPExchange: CustomStringConvertible {
    /// curl's exit code: 0 for a complete response, whatever the status.
    var exitCode: Int32
    /// The final status line, e.g. `HTTP/1.1 200 OK` or `HTTP/2 200`; nil when none arrived.
    var statusLine: String?
    var status: Int?
    /// Header names in lower case, in the order received.
    var headers: [(name: String, value: String)]
    var body: Data
    /// curl's `-v` trace and error message.
    var trace: String
    var elapsed: Duration

    var bodyText: String { String(decoding: body, as: UTF8.self) }

    func header(_ name: String) -> String? { headers.first { $0.name == name.lowercased() }?.value }

    var description: String {
        "curl exit \(exitCode), \(statusLine ?? "no status") after \(elapsed)\nheaders: \(headers)\nbody: \(bodyText.prefix(2000))\ntrace:\n\(trace.suffix(3000))"
    }
}

enum HTTPVersion {
    case http1, http2

    var curlFlag: String { self == .http1 ? "--http1.1" : "--http2" }
}

enum Body {
    case none
    case file(String)
    case bytes(Data)
    case text(String)
}

/// curl against a test server, TLS verified against the test CA.
enum Curl {
    static func request(
        _ url: String, method: String? = nil, version: HTTPVersion = .http1, body: Body = .none,
        contentType: String? = "application/json", headers: [String] = [], clientCertificate: (cert: String, key: String)? = nil,
        cacert: String? = nil, extra: [String] = [], timeout: Duration = .seconds(15)
    ) async throws -> HTTPExchange {
        let scratch = try TemporaryDirectory("nonroot-curl")
        let headerFile = scratch.file("headers")
        let bodyFile = scratch.file("body")
        var arguments = [
            "-sS", "-v", version.curlFlag, "--cacert", try cacert ?? TestCertificates.get().ca,
            "-D", headerFile, "-o", bodyFile, "--max-time", String(Int(timeout.components.seconds)),
        ]
        if let method { arguments += ["-X", method] }
        if let contentType { arguments += ["-H", "content-type: \(contentType)"] }
        for header in headers { arguments += ["-H", header] }
        if let clientCertificate { arguments += ["--cert", clientCertificate.cert, "--key", clientCertificate.key] }
        switch body {
        case .none: break
        case .file(let path): arguments += ["--data-binary", "@\(path)"]
        case .bytes(let data): arguments += ["--data-binary", "@\(try scratch.write("request", bytes: data))"]
        case .text(let text): arguments += ["--data-binary", "@\(try scratch.write("request", text))"]
        }
        arguments += extra
        arguments.append(url)
        let result = try await Command.run("curl", arguments, timeout: timeout + .seconds(5))
        let headerText = (try? String(contentsOfFile: headerFile, encoding: .utf8)) ?? ""
        let responseBody = (try? Data(contentsOf: URL(fileURLWithPath: bodyFile))) ?? Data()
        // `-D` holds every header block (1xx first); the last one is the response.
        let blocks = headerText.components(separatedBy: "\r\n\r\n").filter { !$0.isEmpty }
        var statusLine: String?
        var status: Int?
        var parsedHeaders: [(String, String)] = []
        if let last = blocks.last {
            let lines = last.components(separatedBy: "\r\n")
            // curl writes HTTP/2 status lines with a trailing space ("HTTP/2 200 ").
            statusLine = lines.first.map { $0.trimmingCharacters(in: .whitespaces) }
            status = lines.first.flatMap { line in line.split(separator: " ").dropFirst().first.flatMap { Int($0) } }
            for line in lines.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                parsedHeaders.append((line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
            }
        }
        return HTTPExchange(
            exitCode: result.exited ? result.status : -1, statusLine: statusLine, status: status, headers: parsedHeaders,
            body: responseBody, trace: result.stderr, elapsed: result.elapsed)
    }

    /// POSTs an AdmissionReview file to the server.
    static func review(_ server: ServerProcess, _ file: String, path: String = "/validate", version: HTTPVersion = .http1,
                       clientCertificate: (cert: String, key: String)? = nil) async throws -> HTTPExchange {
        try await request(server.url(path), version: version, body: .file(file), clientCertificate: clientCertificate)
    }
}

/// `openssl s_client` against a test server.
enum SClient {
    /// Whether s_client's output shows a completed handshake (it prints the server certificate only then).
    static func handshakeSucceeded(_ result: CommandResult) -> Bool {
        result.stdout.contains("-----END CERTIFICATE-----") && !result.stdout.contains("Cipher is (NONE)")
    }

    /// A complete handshake attempt with stdin at EOF; returns the command's output.
    static func connect(port: Int, _ arguments: [String], timeout: Duration = .seconds(10)) async throws -> CommandResult {
        try await Command.run("openssl", ["s_client", "-connect", "127.0.0.1:\(port)", "-servername", "localhost"] + arguments, timeout: timeout)
    }

    /// An s_client that stays connected while its stdin pipe is open; `waitForHandshake` tells when it is established.
    static func open(port: Int, _ arguments: [String] = []) throws -> RunningCommand {
        try RunningCommand("openssl", ["s_client", "-connect", "127.0.0.1:\(port)", "-servername", "localhost", "-CAfile", try TestCertificates.get().ca] + arguments, stdin: .pipe)
    }
}

extension RunningCommand {
    /// Waits until s_client printed its session summary (the handshake is done) or exited.
    func waitForHandshake(timeout: Duration = .seconds(10)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            // s_client prints "Verify return code" even after a failed handshake; the server's
            // certificate is printed only after a successful one.
            let out = stdout
            if out.contains("-----END CERTIFICATE-----") && out.contains("Verify return code:") { return true }
            if !isRunning { return false }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }
}

/// Plain HTTP/1.1 over a blocking loopback socket, for the metrics port: fast enough to poll `/readyz`
/// every few milliseconds.
enum PlainHTTP {
    struct Response: CustomStringConvertible {
        var status: Int
        var headers: [(name: String, value: String)]
        var body: String

        func header(_ name: String) -> String? { headers.first { $0.name == name.lowercased() }?.value }
        var description: String { "\(status) \(headers) \(body.prefix(3000))" }
    }

    static func get(port: Int, _ path: String, method: String = "GET") throws -> Response {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw CommandError("socket: \(errno)") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw CommandError("connect to 127.0.0.1:\(port): errno \(errno)") }
        let request = Array("\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == request.count else {
            throw CommandError("send failed: errno \(errno)")
        }
        var received = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 { received += chunk[0..<count] } else if count == 0 { break } else { throw CommandError("recv failed: errno \(errno)") }
        }
        let text = String(decoding: received, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { throw CommandError("no header end in \(text)") }
        let lines = text[..<split.lowerBound].components(separatedBy: "\r\n")
        guard let statusLine = lines.first, let status = statusLine.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else {
            throw CommandError("bad status line in \(text)")
        }
        let headers = lines.dropFirst().compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        return Response(status: status, headers: headers, body: String(text[split.upperBound...]))
    }

    /// `/metrics` as lines.
    static func metrics(port: Int) throws -> [String] {
        try get(port: port, "/metrics").body.split(separator: "\n").map(String.init)
    }
}

/// The offline `nonroot-admission replay … --format json` responses for a path, in output order.
enum Replay {
    static func responses(_ path: String, mode: String? = nil) async throws -> [(source: String, response: String)] {
        var arguments = ["replay", path, "--images", "Examples/images.yaml", "--format", "json"]
        if let mode { arguments += ["--mode", mode] }
        let result = try await Command.run(ServerProcess.executable, arguments, currentDirectory: TestPaths.packageRoot)
        guard result.exited, result.status == 0 || result.status == 1 else { throw CommandError("replay failed: \(result)") }
        return try result.stdout.split(separator: "\n").map { line in
            try JSONMember.split(String(line))
        }
    }
}

/// Extracts members from our compact JSON lines without re-serialising them, so comparisons stay byte-exact.
enum JSONMember {
    /// `{"source":"…","response":{…}[,"notEvaluated":"…"]}` → (source, the response text exactly as printed).
    static func split(_ line: String) throws -> (source: String, response: String) {
        let prefix = #"{"source":"#
        guard line.hasPrefix(prefix), let marker = line.range(of: #","response":"#), line.hasSuffix("}") else {
            throw CommandError("unexpected replay line: \(line)")
        }
        let sourceLiteral = String(line[line.index(line.startIndex, offsetBy: prefix.count)..<marker.lowerBound])
        let source = (try? JSONSerialization.jsonObject(with: Data(sourceLiteral.utf8), options: .fragmentsAllowed)) as? String ?? sourceLiteral
        // The response is an object whose strings never hold a raw `,"notEvaluated":` (quotes are escaped).
        let end = line.range(of: #","notEvaluated":""#, options: .backwards)?.lowerBound ?? line.index(before: line.endIndex)
        let response = String(line[marker.upperBound..<end])
        return (source, response)
    }

    /// The text of the `response` member of a webhook body `{"apiVersion":…,"kind":…,"response":{…}}`.
    static func response(inReview body: String) -> String? {
        guard let marker = body.range(of: #","response":"#), body.hasSuffix("}") else { return nil }
        return String(body[marker.upperBound..<body.index(before: body.endIndex)])
    }
}

/// A raw HTTP/1.1-over-TLS client (`openssl s_client -nocommands`), for requests curl will not send:
/// partial headers, bodies that never finish. s_client exits when the server closes the connection.
final class RawTLSConnection: @unchecked Sendable {
    let command: RunningCommand
    private(set) var handshakeDone = ContinuousClock.now

    init(port: Int, alpn: String = "http/1.1") async throws {
        command = try SClient.open(port: port, ["-nocommands", "-alpn", alpn])
        guard await command.waitForHandshake() else {
            throw CommandError("no TLS handshake: \(await command.wait(timeout: .seconds(2)))")
        }
        handshakeDone = ContinuousClock.now
    }

    func send(_ text: String) { command.writeStdin(text) }

    /// Waits until the server closes the connection (s_client exits); the time since `since`, or nil if still open after `timeout`.
    func waitForClose(since: ContinuousClock.Instant, timeout: Duration) async -> Duration? {
        guard await command.waitForExit(within: timeout) else { return nil }
        return ContinuousClock.now - since
    }

    /// What the server sent (s_client's stdout, after the session summary).
    var received: String { command.stdout }

    func close() { command.kill9() }

    deinit { command.kill9() }
}

