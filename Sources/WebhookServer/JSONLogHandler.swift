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
        var writer = JSONWriter(capacity: 512)
        write(event, into: &writer)
        return writer.bytes
    }

    /// Writes one record. It runs for every decision, so it builds no merged dictionary and hashes
    /// nothing: the members of every source go into one array, sorted by key and then by source, and
    /// only the last of equal keys (the source that overrides) is written.
    private func write(_ event: LogEvent, into writer: inout JSONWriter) {
        var members: [Member] = []
        func add(_ source: Logger.Metadata?, rank: Int) {
            guard let source, !source.isEmpty else { return }
            members.reserveCapacity(members.count + source.count)
            for (key, value) in source { members.append(Member(key: key, rank: rank, value: value)) }
        }
        add(metadata, rank: 0)
        add(metadataProvider?.get(), rank: 1)
        add(event.metadata, rank: 2)
        if let error = event.error {
            members.append(Member(key: "error.message", rank: 3, value: .string("\(error)")))
            members.append(Member(key: "error.type", rank: 3, value: .string(String(reflecting: type(of: error)))))
        }
        // Insertion sort of positions: a line has about ten members, and moving an Int is cheaper than a Member.
        var order = Array(members.indices)
        members.withUnsafeBufferPointer { members in
            for next in order.indices.dropFirst() {
                let moving = order[next]
                var slot = next
                while slot > 0, Member.precedes(moving, order[slot - 1], in: members) {
                    order[slot] = order[slot - 1]
                    slot -= 1
                }
                order[slot] = moving
            }
        }

        writeFixedMembers(level: event.level, message: event.message.description, into: &writer)
        for (position, index) in order.enumerated() where position + 1 == order.count || members[order[position + 1]].key != members[index].key {
            writer.key(members[index].key)
            JSONLogHandler.write(members[index].value, into: &writer)
        }
        writer.endObject()
    }

    /// Opens the object and writes `time`, `level`, `logger` and `message`.
    private func writeFixedMembers(level: Logger.Level, message: String, into writer: inout JSONWriter) {
        writer.beginObject()
        writer.key(unescaped: "time")
        writer.raw(JSONLogHandler.rfc3339Bytes(clock()))
        writer.key(unescaped: "level")
        writer.string(level.rawValue)
        writer.key(unescaped: "logger")
        writer.string(label)
        writer.key(unescaped: "message")
        writer.string(message)
    }

    /// Whether `log(level:message:sortedMetadata:)` writes the line `log(event:)` would: only when there is
    /// no handler metadata and no metadata provider, whose members would have to be merged in.
    var acceptsSortedMetadata: Bool { metadata.isEmpty && metadataProvider == nil }

    /// Logs a record whose metadata `write` gives member by member, already in key order: the line
    /// `log(event:)` writes for the same metadata, without building, hashing and sorting a dictionary.
    /// For a line logged on every request; only when `acceptsSortedMetadata`.
    func log(level: Logger.Level, message: String, sortedMetadata write: (inout SortedMetadata) -> Void) {
        guard level >= logLevel else { return }
        assert(acceptsSortedMetadata, "JSONLogHandler: sorted metadata would skip the handler's own")
        var members = SortedMetadata()
        writeFixedMembers(level: level, message: message, into: &members.writer)
        write(&members)
        members.writer.endObject()
        output.emit(members.writer.bytes)
    }

    /// Metadata members written straight into a line. Keys must come in UTF-8 byte order, each once, and
    /// none of them `time`, `level`, `logger` or `message` (checked in debug builds).
    struct SortedMetadata {
        fileprivate var writer = JSONWriter(capacity: 512)
        #if DEBUG
        private var lastKey: String?
        #endif

        mutating func string(_ key: StaticString, _ value: String) {
            self.key(key)
            writer.string(value)
        }

        mutating func strings(_ key: StaticString, _ values: some Sequence<String>) {
            self.key(key)
            writer.beginArray()
            for value in values { writer.string(value) }
            writer.endArray()
        }

        /// Keys are literals; `JSONWriter.key(unescaped:)` checks that none needs escaping.
        private mutating func key(_ key: StaticString) {
            #if DEBUG
            let name = key.description
            precondition(!["time", "level", "logger", "message"].contains(name), "JSONLogHandler: '\(name)' is a fixed key")
            if let lastKey { precondition(JSONLogHandler.compare(lastKey, name) < 0, "JSONLogHandler: '\(name)' after '\(lastKey)'") }
            lastKey = name
            #endif
            writer.key(unescaped: key)
        }
    }

    /// A metadata member and the rank of its source: handler 0, provider 1, call 2, error 3.
    private struct Member {
        var key: String
        /// The key's first 8 UTF-8 bytes, big-endian, zero-padded: most keys sort on it alone.
        var prefix: UInt64
        var rank: Int
        var value: Logger.Metadata.Value

        init(key: String, rank: Int, value: Logger.Metadata.Value) {
            // Keys that collide with the four fixed ones are moved aside.
            switch key {
            case "time", "level", "logger", "message": self.key = "metadata." + key
            default: self.key = key
            }
            self.rank = rank
            self.value = value
            var key = self.key
            self.prefix = key.withUTF8 { utf8 in
                var prefix: UInt64 = 0
                for index in 0..<min(utf8.count, 8) { prefix |= UInt64(utf8[index]) << (56 - 8 * index) }
                return prefix
            }
        }

        /// By key (in UTF-8 byte order), then by rank.
        static func precedes(_ a: Int, _ b: Int, in members: UnsafeBufferPointer<Member>) -> Bool {
            // Different prefixes order as the keys do; equal ones (including "ab" and "ab\0") need the whole keys.
            if members[a].prefix != members[b].prefix { return members[a].prefix < members[b].prefix }
            let order = JSONLogHandler.compare(members[a].key, members[b].key)
            return order == 0 ? members[a].rank < members[b].rank : order < 0
        }
    }

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
        compare(a, b) < 0
    }

    /// Negative, zero or positive as `a` sorts before, with or after `b` in UTF-8 byte order.
    fileprivate static func compare(_ a: String, _ b: String) -> Int {
        var a = a, b = b
        return a.withUTF8 { a in
            b.withUTF8 { b in
                let common = min(a.count, b.count)
                if common > 0, let base = a.baseAddress, let other = b.baseAddress {
                    let order = memcmp(base, other, common)
                    if order != 0 { return Int(order) }
                }
                return a.count - b.count
            }
        }
    }

    static func systemClock() -> (seconds: Int, nanoseconds: Int) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return (Int(now.tv_sec), Int(now.tv_nsec))
    }

    /// `"2026-11-29T06:30:00.123456Z"`, quoted: RFC 3339, UTC, microseconds (truncated, not rounded, so a
    /// time never moves into the next second). Digits written in place: it runs on every line.
    static func rfc3339Bytes(_ time: (seconds: Int, nanoseconds: Int)) -> [UInt8] {
        var seconds = time_t(time.seconds)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var text = [UInt8](repeating: UInt8(ascii: "0"), count: 29)
        func put(_ value: Int, at end: Int, width: Int) {
            var value = value
            for index in stride(from: end, to: end - width, by: -1) {
                text[index] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
            }
        }
        text[0] = UInt8(ascii: "\"")
        put(Int(parts.tm_year) + 1900, at: 4, width: 4)
        text[5] = UInt8(ascii: "-")
        put(Int(parts.tm_mon) + 1, at: 7, width: 2)
        text[8] = UInt8(ascii: "-")
        put(Int(parts.tm_mday), at: 10, width: 2)
        text[11] = UInt8(ascii: "T")
        put(Int(parts.tm_hour), at: 13, width: 2)
        text[14] = UInt8(ascii: ":")
        put(Int(parts.tm_min), at: 16, width: 2)
        text[17] = UInt8(ascii: ":")
        put(Int(parts.tm_sec), at: 19, width: 2)
        text[20] = UInt8(ascii: ".")
        put(time.nanoseconds / 1000, at: 26, width: 6)
        text[27] = UInt8(ascii: "Z")
        text[28] = UInt8(ascii: "\"")
        return text
    }
}

/// Where `JSONLogHandler` writes its lines.
public struct JSONLogOutput: Sendable {
    private enum Target: Sendable {
        case descriptor(Int32)
        case batched(LogLineBatcher)
        case custom(@Sendable (String) -> Void)
    }

    private let target: Target

    /// Standard error, batched: lines are written by a thread of their own, many per `write(2)`, at most
    /// 1 ms after they are logged (see `LogLineBatcher`); call `flush()` before the process exits.
    public static let standardError = JSONLogOutput(target: .batched(LogLineBatcher(descriptor: STDERR_FILENO)))
    /// Standard output, unbuffered: each line is one `write(2)`.
    public static let standardOutput = JSONLogOutput(target: .descriptor(STDOUT_FILENO))

    /// Waits (at most `timeout`) until every line logged so far is written; at once when unbatched.
    @discardableResult
    public func flush(timeout: Duration = .seconds(2)) -> Bool {
        guard case .batched(let batcher) = target else { return true }
        return batcher.flush(timeout: timeout)
    }

    /// A batched descriptor, which stays open; for tests.
    static func batched(_ batcher: LogLineBatcher) -> JSONLogOutput {
        JSONLogOutput(target: .batched(batcher))
    }

    /// Hands each record to `write` as one line of JSON, without the trailing newline.
    public static func custom(_ write: @escaping @Sendable (String) -> Void) -> JSONLogOutput {
        JSONLogOutput(target: .custom(write))
    }

    /// An open file descriptor, which stays open; for tests.
    static func fileDescriptor(_ descriptor: Int32) -> JSONLogOutput {
        JSONLogOutput(target: .descriptor(descriptor))
    }

    func emit(_ line: consuming [UInt8]) {
        switch target {
        case .custom(let write):
            write(String(decoding: line, as: UTF8.self))
        case .descriptor(let descriptor):
            var bytes = line
            bytes.append(UInt8(ascii: "\n"))  // in place: the line is ours alone
            JSONLogOutput.writeLine(bytes, to: descriptor)
        case .batched(let batcher):
            var bytes = line
            bytes.append(UInt8(ascii: "\n"))
            batcher.append(bytes)
        }
    }

    /// Serialises writers in this process: `write(2)` is atomic on pipes only up to PIPE_BUF
    /// (4 KiB), and a partial write must be finished before another line starts.
    private static let lineLock = Mutex<Void>(())

    /// Writes all of `bytes`, retrying partial and interrupted writes. Nothing is buffered, so a
    /// line logged before SIGTERM is out before the process exits. A descriptor that refuses
    /// (closed, or non-blocking and full for a second) loses the line rather than hanging the caller.
    private static func writeLine(_ bytes: [UInt8], to descriptor: Int32) {
        lineLock.withLock { _ in LogLineBatcher.writeAll(bytes, to: descriptor) }
    }
}
