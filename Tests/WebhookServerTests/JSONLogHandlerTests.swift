import AdmissionModel
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import JSON
import Logging
import Synchronization
import Testing
@testable import WebhookServer
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The JSON log handler: exact lines with a fixed clock, escaping, metadata merge and order,
// level filtering, and whole lines from concurrent writers.

/// 2026-11-29T06:30:00.123456789Z.
private let fixedTime: @Sendable () -> (seconds: Int, nanoseconds: Int) = { (1_795_933_800, 123_456_789) }

/// A logger whose handler has a fixed clock and writes to `log`.
private func makeLogger(_ log: CapturedLog, label: String = "webhook", level: Logger.Level = .info, configure: (inout JSONLogHandler) -> Void = { _ in }) -> Logger {
    Logger(label: label) { label in
        var handler = JSONLogHandler(label: label, level: level, output: .custom { log.append($0) }, clock: fixedTime)
        configure(&handler)
        return handler
    }
}

private struct Port: CustomStringConvertible, Sendable {
    var number: Int
    var description: String { "port \(number)" }
}

struct LogProbeError: Error, CustomStringConvertible {
    var description: String { "probe failed" }
}

@Suite("JSON log handler")
struct JSONLogHandlerTests {
    @Test("a line is exactly time, level, logger, message, then metadata")
    func exactLine() {
        let log = CapturedLog()
        let logger = makeLogger(log)
        logger.info("serving", metadata: ["listen": "0.0.0.0:8443"])
        logger.notice("stopped")
        #expect(log.lines == [
            #"{"time":"2026-11-29T06:30:00.123456Z","level":"info","logger":"webhook","message":"serving","listen":"0.0.0.0:8443"}"#,
            #"{"time":"2026-11-29T06:30:00.123456Z","level":"notice","logger":"webhook","message":"stopped"}"#,
        ])
    }

    @Test("RFC 3339 UTC with microseconds, truncated", arguments: [
        (0, 0, "1970-01-01T00:00:00.000000Z"),
        (1_709_251_199, 999_999_999, "2024-02-29T23:59:59.999999Z"),
        (1_795_933_800, 1_000, "2026-11-29T06:30:00.000001Z"),
        (1_795_933_800, 999, "2026-11-29T06:30:00.000000Z"),
    ])
    func timestamps(seconds: Int, nanoseconds: Int, expected: String) {
        #expect(String(decoding: JSONLogHandler.rfc3339Bytes((seconds, nanoseconds)), as: UTF8.self) == "\"\(expected)\"")
    }

    @Test("quotes, backslashes, newlines and control characters stay inside one valid line")
    func escaping() throws {
        let log = CapturedLog()
        let logger = makeLogger(log, label: "a \"label\"")
        let message = "say \"hi\"\\\nnext\tline\r\u{01}\u{7F} é 😀"
        logger.error("\(message)", metadata: ["key\n\"x\"": "value\u{0}"])
        let line = try #require(log.lines.first)
        #expect(!line.contains("\n") && !line.contains("\r") && !line.contains("\u{0}"))
        #expect(line == #"{"time":"2026-11-29T06:30:00.123456Z","level":"error","logger":"a \"label\"","message":"say \"hi\"\\\nnext\tline\r\u0001\u007f é 😀","key\n\"x\"":"value\u0000"}"#)
        let root = try JSONDocument(parsing: line).root
        #expect(root["message"]?.string == message)
        #expect(root["logger"]?.string == "a \"label\"")
        #expect(root.member("key\n\"x\"")?.string == "value\u{0}")
    }

    @Test("metadata: handler, provider and call merged (call wins), keys sorted, values typed")
    func metadataMergeAndOrder() {
        let log = CapturedLog()
        let logger = makeLogger(log) { handler in
            handler.metadata = ["zone": "handler", "a": "from-handler", "provided": "handler"]
            handler.metadataProvider = Logger.MetadataProvider { ["provided": "provider", "request": "r-1"] }
        }
        var withMetadata = logger
        withMetadata[metadataKey: "b"] = "set-on-logger"
        withMetadata.info("decided", metadata: [
            "zone": "call",
            "port": .stringConvertible(Port(number: 8443)),
            "images": ["nginx:1.27", .stringConvertible(Port(number: 1))],
            "user": ["name": "alice", "groups": ["system:masters"], "extra": [:]],
            "empty": [],
        ])
        #expect(log.lines == [
            #"{"time":"2026-11-29T06:30:00.123456Z","level":"info","logger":"webhook","message":"decided","# +
                #""a":"from-handler","b":"set-on-logger","empty":[],"images":["nginx:1.27","port 1"],"port":"port 8443","provided":"provider","request":"r-1","# +
                #""user":{"extra":{},"groups":["system:masters"],"name":"alice"},"zone":"call"}"#,
        ])
        // Metadata on one logger never leaks into a copy made before the change.
        logger.info("plain")
        #expect(log.lines.last == #"{"time":"2026-11-29T06:30:00.123456Z","level":"info","logger":"webhook","message":"plain","a":"from-handler","provided":"provider","request":"r-1","zone":"handler"}"#)
    }

    @Test("keys sort in UTF-8 byte order beyond their first 8 bytes, with duplicates across sources merged")
    func longKeysSortByEveryByte() {
        let log = CapturedLog()
        let logger = makeLogger(log) { handler in
            handler.metadata = ["latencyMicroseconds": "handler", "ab\u{0}": "nul"]
        }
        logger.info("m", metadata: [
            "latencyMicroseconds": "call", "latencyMicro": "short", "latencyMicrosecondz": "z", "latencyM": "8",
            "ab": "2", "é": "e-acute", "Z": "upper", "latencyMicroseconda": "a",
        ])
        #expect(log.lines == [
            #"{"time":"2026-11-29T06:30:00.123456Z","level":"info","logger":"webhook","message":"m","Z":"upper","ab":"2","ab\u0000":"nul","# +
                #""latencyM":"8","latencyMicro":"short","latencyMicroseconda":"a","latencyMicroseconds":"call","latencyMicrosecondz":"z","é":"e-acute"}"#,
        ])
    }

    @Test("metadata that would repeat a fixed key is renamed, so every key appears once")
    func reservedKeys() {
        let log = CapturedLog()
        makeLogger(log).warning("m", metadata: ["level": "x", "message": "y", "time": "z", "logger": "w", "other": "v"])
        #expect(log.lines == [
            #"{"time":"2026-11-29T06:30:00.123456Z","level":"warning","logger":"webhook","message":"m","metadata.level":"x","metadata.logger":"w","metadata.message":"y","metadata.time":"z","other":"v"}"#,
        ])
    }

    @Test("a logged error adds error.message and error.type")
    func loggedError() {
        let log = CapturedLog()
        makeLogger(log).error("probe", error: LogProbeError())
        #expect(log.lines.first?.hasSuffix(#""message":"probe","error.message":"probe failed","error.type":"WebhookServerTests.LogProbeError"}"#) == true, "\(log.lines)")
    }

    @Test("records below the level are not written")
    func levelFiltering() throws {
        let log = CapturedLog()
        var logger = makeLogger(log, level: .warning)
        logger.trace("t")
        logger.debug("d")
        logger.info("i")
        logger.notice("n")
        logger.warning("w")
        logger.error("e")
        logger.critical("c")
        let levels = try log.lines.map { try JSONDocument(parsing: $0).root["level"]?.string }
        #expect(levels == ["warning", "error", "critical"])
        logger.logLevel = .trace
        logger.trace("now shown")
        #expect(log.lines.count == 4)
        #expect(log.lines.last?.contains(#""level":"trace""#) == true)
    }

    @Test("concurrent writers to one descriptor never interleave, even for lines beyond PIPE_BUF")
    func wholeLines() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/log"
            let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            #expect(descriptor >= 0)
            defer { close(descriptor) }
            let logger = Logger(label: "load") { JSONLogHandler(label: $0, level: .info, output: .fileDescriptor(descriptor), clock: fixedTime) }
            let long = String(repeating: "x", count: 10_000)
            await withTaskGroup(of: Void.self) { group in
                for task in 0..<8 {
                    group.addTask {
                        for i in 0..<100 { logger.info("line \(task)-\(i) \(i % 10 == 0 ? long : "")", metadata: ["task": "\(task)"]) }
                    }
                }
            }
            let lines = String(decoding: try readBytes(path), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            #expect(lines.count == 801)
            #expect(lines.last == "")
            var seen = Set<String>()
            for line in lines.dropLast() {
                let root = try JSONDocument(parsing: String(line)).root
                seen.insert(root["message"]?.string?.split(separator: " ").dropFirst().first.map(String.init) ?? "?")
            }
            #expect(seen.count == 800)
        }
    }

    @Test("batched: every line once, whole, in each writer's order, out after flush")
    func batchedLines() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/log"
            let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            #expect(descriptor >= 0)
            defer { close(descriptor) }
            let output = JSONLogOutput.batched(LogLineBatcher(descriptor: descriptor))
            let logger = Logger(label: "load") { JSONLogHandler(label: $0, level: .info, output: output, clock: fixedTime) }
            let long = String(repeating: "x", count: 10_000)
            await withTaskGroup(of: Void.self) { group in
                for task in 0..<8 {
                    group.addTask {
                        for i in 0..<200 { logger.info("line \(task) \(i) \(i % 10 == 0 ? long : "")") }
                    }
                }
            }
            #expect(output.flush(timeout: .seconds(10)))
            let lines = String(decoding: try readBytes(path), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            #expect(lines.count == 1601)
            #expect(lines.last == "")
            var next = [Int](repeating: 0, count: 8)
            for line in lines.dropLast() {
                let words = try #require(JSONDocument(parsing: String(line)).root["message"]?.string).split(separator: " ")
                let (task, index) = (Int(words[1]) ?? -1, Int(words[2]) ?? -1)
                #expect(index == next[task], "task \(task): line \(index) after \(next[task] - 1)")
                next[task] = index + 1
            }
            #expect(next == [Int](repeating: 200, count: 8))
        }
    }

    @Test("batched: a full queue drops lines, counts them, and says so in the log; the caller never waits")
    func batchedQueueBound() throws {
        var pipeEnds: [Int32] = [0, 0]
        #expect(pipe(&pipeEnds) == 0)
        defer { close(pipeEnds[0]); close(pipeEnds[1]) }
        // Fill the pipe first (nobody reads it yet), so the writer blocks on its first write; the queue holds 4 KiB.
        let filler = [UInt8](repeating: UInt8(ascii: "f"), count: 1023) + [UInt8(ascii: "\n")]
        let flags = fcntl(pipeEnds[1], F_GETFL)
        _ = fcntl(pipeEnds[1], F_SETFL, flags | O_NONBLOCK)
        while filler.withUnsafeBytes({ write(pipeEnds[1], $0.baseAddress, $0.count) }) > 0 {}
        _ = fcntl(pipeEnds[1], F_SETFL, flags)
        let batcher = LogLineBatcher(descriptor: pipeEnds[1], interval: .zero, maximumPendingBytes: 4096)
        let line = [UInt8](repeating: UInt8(ascii: "x"), count: 1023) + [UInt8(ascii: "\n")]
        let started = ContinuousClock.now
        for _ in 0..<200 { batcher.append(line) }
        #expect(ContinuousClock.now - started < .seconds(1))
        #expect(!batcher.flush(timeout: .milliseconds(200)))
        // Drain the pipe: the writer gets going again and reports what it dropped. On a loaded machine the writer
        // may run between appends, so drops can be reported in more than one note: read until every line is
        // accounted for, or the deadline passes.
        var all: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        var (kept, dropped, notes) = (0, 0, 0)
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline, kept + dropped < 200 {
            let count = read(pipeEnds[0], &buffer, buffer.count)
            if count <= 0 { break }
            all += buffer[..<count]
            let complete = all.lastIndex(of: UInt8(ascii: "\n")).map { all.index(after: $0) } ?? all.startIndex
            let lines = String(decoding: all[..<complete], as: UTF8.self).split(separator: "\n")
            kept = lines.filter { $0.allSatisfy { $0 == "x" } }.count
            let counts = lines.filter { $0.contains("log lines dropped") }.map {
                (try? JSONDocument(parsing: String($0)))?.root["dropped"]?.string.flatMap { Int($0) } ?? -1_000
            }
            (dropped, notes) = (counts.reduce(0, +), counts.count)
        }
        #expect(kept + dropped == 200, "\(kept) written, \(dropped) dropped in \(notes) notes")
        #expect(notes >= 1)
        #expect(dropped > 0)
    }
}
