import AdmissionModel
import JSON
public import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A swift-log handler that writes one compact JSON object per line:
///
/// ```
/// {"time":"2026-11-29T06:30:00.123456Z","level":"info","logger":"webhook","message":"serving","listen":"0.0.0.0:8443"}
/// ```
///
/// `time` (RFC 3339, UTC, microseconds), `level`, `logger` and `message` come first, then the
/// metadata with keys sorted: the handler's, then the metadata provider's, then the call's, each
/// overriding the one before. A logged `error` adds `error.message` and `error.type`. Metadata keys
/// that collide with the four fixed keys are written as `metadata.<key>`, so no line has a key twice.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let output: JSONLogOutput
    /// Seconds and nanoseconds since the epoch; a hook so tests can fix the time.
    private let clock: @Sendable () -> (seconds: Int, nanoseconds: Int)

    public init(label: String, level: Logger.Level = .info, output: JSONLogOutput = .standardError) {
        self.init(label: label, level: level, output: output, clock: { JSONLogHandler.systemClock() })
    }

    init(label: String, level: Logger.Level, output: JSONLogOutput, clock: @escaping @Sendable () -> (seconds: Int, nanoseconds: Int)) {
        self.label = label
        self.logLevel = level
        self.output = output
        self.clock = clock
        // As swift-log's own handlers do: pick up the provider given to `LoggingSystem.bootstrap`.
        self.metadataProvider = LoggingSystem.metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        output.emit(line(for: event))
    }

    /// The JSON text of one record, without the newline.
    func line(for event: LogEvent) -> [UInt8] {
        var merged = metadata
        if let provided = metadataProvider?.get(), !provided.isEmpty {
            merged.merge(provided) { _, provided in provided }
        }
        if let explicit = event.metadata, !explicit.isEmpty {
            merged.merge(explicit) { _, explicit in explicit }
        }
        if let error = event.error {
            merged["error.message"] = .string("\(error)")
            merged["error.type"] = .string(String(reflecting: type(of: error)))
        }

        var writer = JSONWriter(capacity: 256)
        writer.beginObject()
        writer.key("time")
        writer.string(JSONLogHandler.rfc3339(clock()))
        writer.key("level")
        writer.string(event.level.rawValue)
        writer.key("logger")
        writer.string(label)
        writer.key("message")
        writer.string(event.message.description)
        let members = merged.map { key, value in
            (key: JSONLogHandler.reservedKeys.contains(key) ? "metadata." + key : key, value: value)
        }
        for (key, value) in members.sorted(by: { JSONLogHandler.precedes($0.key, $1.key) }) {
            writer.key(key)
            JSONLogHandler.write(value, into: &writer)
        }
        writer.endObject()
        return writer.bytes
    }

    private static let reservedKeys: Set<String> = ["time", "level", "logger", "message"]

    private static func write(_ value: Logger.Metadata.Value, into writer: inout JSONWriter) {
        switch value {
        case .string(let string):
            writer.string(string)
        case .stringConvertible(let convertible):
            writer.string(convertible.description)
        case .array(let elements):
            writer.beginArray()
            for element in elements { write(element, into: &writer) }
            writer.endArray()
        case .dictionary(let dictionary):
            writer.beginObject()
            for (key, element) in dictionary.sorted(by: { precedes($0.key, $1.key) }) {
                writer.key(key)
                write(element, into: &writer)
            }
            writer.endObject()
        }
    }

    /// Byte order of UTF-8, so key order never depends on Unicode collation.
    private static func precedes(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    static func systemClock() -> (seconds: Int, nanoseconds: Int) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return (Int(now.tv_sec), Int(now.tv_nsec))
    }

    /// `2026-11-29T06:30:00.123456Z`: RFC 3339, UTC, microseconds (truncated, not rounded, so a
    /// time never moves into the next second).
    static func rfc3339(_ time: (seconds: Int, nanoseconds: Int)) -> String {
        var seconds = time_t(time.seconds)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var text = ""
        text.reserveCapacity(27)
        func append(_ value: Int, width: Int) {
            let digits = String(value)
            if digits.count < width { text += String(repeating: "0", count: width - digits.count) }
            text += digits
        }
        append(Int(parts.tm_year) + 1900, width: 4)
        text += "-"
        append(Int(parts.tm_mon) + 1, width: 2)
        text += "-"
        append(Int(parts.tm_mday), width: 2)
        text += "T"
        append(Int(parts.tm_hour), width: 2)
        text += ":"
        append(Int(parts.tm_min), width: 2)
        text += ":"
        append(Int(parts.tm_sec), width: 2)
        text += "."
        append(time.nanoseconds / 1000, width: 6)
        text += "Z"
        return text
    }
}

/// Where `JSONLogHandler` writes its lines.
public struct JSONLogOutput: Sendable {
    private enum Target: Sendable {
        case descriptor(Int32)
        case custom(@Sendable (String) -> Void)
    }

    private let target: Target

    /// Standard error, unbuffered: each line is one `write(2)`.
    public static let standardError = JSONLogOutput(target: .descriptor(STDERR_FILENO))
    /// Standard output, unbuffered: each line is one `write(2)`.
    public static let standardOutput = JSONLogOutput(target: .descriptor(STDOUT_FILENO))

    /// Hands each record to `write` as one line of JSON, without the trailing newline.
    public static func custom(_ write: @escaping @Sendable (String) -> Void) -> JSONLogOutput {
        JSONLogOutput(target: .custom(write))
    }

    /// An open file descriptor, which stays open; for tests.
    static func fileDescriptor(_ descriptor: Int32) -> JSONLogOutput {
        JSONLogOutput(target: .descriptor(descriptor))
    }

    func emit(_ line: [UInt8]) {
        switch target {
        case .custom(let write):
            write(String(decoding: line, as: UTF8.self))
        case .descriptor(let descriptor):
            var bytes = line
            bytes.append(UInt8(ascii: "\n"))
            JSONLogOutput.writeLine(bytes, to: descriptor)
        }
    }

    /// Serialises writers in this process: `write(2)` is atomic on pipes only up to PIPE_BUF
    /// (4 KiB), and a partial write must be finished before another line starts.
    private static let lineLock = Mutex<Void>(())

    /// Writes all of `bytes`, retrying partial and interrupted writes. Nothing is buffered, so a
    /// line logged before SIGTERM is out before the process exits. A descriptor that refuses
    /// (closed, or non-blocking and full for a second) loses the line rather than hanging the caller.
    private static func writeLine(_ bytes: [UInt8], to descriptor: Int32) {
        lineLock.withLock { _ in
            bytes.withUnsafeBytes { buffer in
                var offset = 0
                var waits = 0
                while offset < buffer.count {
                    let count = systemWrite(descriptor, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                    if count >= 0 {
                        offset += count
                        continue
                    }
                    switch errno {
                    case EINTR:
                        continue
                    case EAGAIN, EWOULDBLOCK:
                        // Someone made our stderr non-blocking; wait for room, within reason.
                        guard waits < 10 else { return }
                        waits += 1
                        var poller = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
                        _ = poll(&poller, 1, 100)
                    default:
                        return
                    }
                }
            }
        }
    }
}

/// `write(2)`, named apart from the closures called `write`.
@inline(__always)
private func systemWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
    write(descriptor, buffer, count)
}
