import AdmissionModel
public import Logging
import NIOPosix
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Bounds on the record directory and on the queue in front of it.
public struct RecorderLimits: Sendable {
    /// The most record files kept; the oldest are deleted first.
    public var maximumFiles: Int
    /// The most bytes kept across all record files; the oldest are deleted first.
    public var maximumBytes: Int
    /// Reviews waiting to be written; further reviews are dropped and counted.
    public var queueDepth: Int

    public init(maximumFiles: Int = 1000, maximumBytes: Int = 256 << 20, queueDepth: Int = 256) {
        self.maximumFiles = maximumFiles
        self.maximumBytes = maximumBytes
        self.queueDepth = queueDepth
    }
}

/// Why the record directory cannot be used.
public struct RecorderError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong.
    public enum Kind: Sendable, Equatable {
        case createDirectory
        case notADirectory
        case notWritable
        case readDirectory
        case invalidLimits
    }

    public var kind: Kind
    /// The record directory.
    public var path: String
    /// The system's reason (`strerror`) or the offending limit.
    public var reason: String

    public init(kind: Kind, path: String, reason: String) {
        self.kind = kind
        self.path = path
        self.reason = reason
    }

    public var description: String {
        switch kind {
        case .createDirectory: "cannot create record directory \(path): \(reason)"
        case .notADirectory: "record directory \(path) exists but is not a directory"
        case .notWritable: "cannot write to record directory \(path): \(reason)"
        case .readDirectory: "cannot read record directory \(path): \(reason)"
        case .invalidLimits: "invalid limits for record directory \(path): \(reason)"
        }
    }
}

/// Writes each reviewed AdmissionReview, with the response sent, as one JSON file that
/// `nonroot-admission replay` reads back.
///
/// `record` only enqueues; parsing, redaction, encoding and file I/O happen in `run`, whose
/// blocking system calls go to NIO's thread pool so they never stall the cooperative pool.
/// Env values and the last-applied-configuration annotation are redacted before anything reaches
/// disk. The directory is bounded by file count and bytes, oldest file first out, across restarts.
/// One process should own a record directory: the index lives in memory.
public final class ReviewRecorder: Sendable {
    private let directory: String
    private let limits: RecorderLimits
    private let logger: Logger
    private let stream: AsyncStream<PendingRecord>
    private let continuation: AsyncStream<PendingRecord>.Continuation
    private let dropped = Atomic<Int>(0)
    private let written = Atomic<Int>(0)
    private let failed = Atomic<Int>(0)
    private let started = Atomic<Bool>(false)
    /// Bytes of bodies and responses in the queue. Bounded too: 256 queued 3 MiB reviews would be
    /// most of a webhook pod's memory if the disk stalls.
    private let queuedBytes = Atomic<Int>(0)
    private let maximumQueuedBytes: Int
    /// Touched only by the single writer in `run`; the mutex makes that provable to the compiler.
    private let writer: Mutex<WriterState>

    /// Opens `directory`, creating it (0o700) if missing, and indexes the `*.json` files already
    /// there (oldest first by name) so that the limits hold across restarts. Stale `.tmp-` files
    /// from an interrupted write are deleted.
    public convenience init(directory: String, limits: RecorderLimits = .init(), logger: Logger) throws(RecorderError) {
        try self.init(directory: directory, limits: limits, maximumQueuedBytes: 64 << 20, logger: logger)
    }

    /// `maximumQueuedBytes` is internal so tests can reach it with small reviews.
    init(directory: String, limits: RecorderLimits, maximumQueuedBytes: Int, logger: Logger) throws(RecorderError) {
        for (name, value) in [("maximumFiles", limits.maximumFiles), ("maximumBytes", limits.maximumBytes), ("queueDepth", limits.queueDepth)] where value < 1 {
            throw RecorderError(kind: .invalidLimits, path: directory, reason: "\(name) must be at least 1, got \(value)")
        }
        // Trailing slashes would double up in the paths we build and in log lines.
        var directory = directory
        while directory.count > 1, directory.hasSuffix("/") { directory.removeLast() }
        try RecordFiles.createDirectory(directory)
        let index = try RecordFiles.index(directory, logger: logger)

        self.directory = directory
        self.limits = limits
        self.logger = logger
        self.maximumQueuedBytes = maximumQueuedBytes
        // Keep the oldest: a full queue means the writer is behind, and what it already holds is
        // as good as what arrives; dropping new records also keeps `record` O(1).
        (stream, continuation) = AsyncStream.makeStream(of: PendingRecord.self, bufferingPolicy: .bufferingOldest(limits.queueDepth))
        writer = Mutex(WriterState(index: index))
        if index.entries.count > limits.maximumFiles || index.totalBytes > limits.maximumBytes {
            // Limits lowered since the last run: trim now rather than on the first write.
            writer.withLock { evict(&$0) }
        }
    }

    /// Queues one review and the response that was sent (the AdmissionResponse object, as
    /// `Decision.responseJSON`; a whole response AdmissionReview is accepted too). Never blocks:
    /// when the queue is full (`queueDepth` records, or 64 MiB of bodies and responses), or after
    /// `finish()`, the record is dropped and counted.
    public func record(body: [UInt8], responseJSON: [UInt8], uid: String) {
        let size = body.count + responseJSON.count
        guard queuedBytes.add(size, ordering: .relaxed).newValue <= maximumQueuedBytes else {
            queuedBytes.subtract(size, ordering: .relaxed)
            dropped.add(1, ordering: .relaxed)
            return
        }
        let pending = PendingRecord(body: body, responseJSON: responseJSON, uid: uid, receivedAt: RecordTime.now())
        switch continuation.yield(pending) {
        case .enqueued:
            break
        default:
            // Queue full, or finished.
            queuedBytes.subtract(size, ordering: .relaxed)
            dropped.add(1, ordering: .relaxed)
        }
    }

    /// The writer loop: writes queued records until `finish()` is called, then writes what is left
    /// and returns. Call it once. Cancelling the calling task stops it without draining the queue.
    public func run() async {
        guard !started.exchange(true, ordering: .acquiringAndReleasing) else {
            logger.warning("review recorder: run() called more than once; ignoring the extra call", metadata: ["path": "\(directory)"])
            return
        }
        for await pending in stream {
            do {
                try await NIOThreadPool.singleton.runIfActive { self.process(pending) }
            } catch {
                // Cancelled or the pool is gone (shutdown): write inline rather than lose the record.
                process(pending)
            }
        }
        reportDrops(force: true)
    }

    /// Makes `run()` return once the queue is drained. Records arriving later are dropped.
    public func finish() {
        continuation.finish()
    }

    /// Records dropped because the queue was full (in records or bytes) or the recorder had finished.
    public var droppedCount: Int { dropped.load(ordering: .relaxed) }

    /// Record files written.
    public var writtenCount: Int { written.load(ordering: .relaxed) }

    /// Records that could not be encoded or written (each is logged).
    var failedCount: Int { failed.load(ordering: .relaxed) }

    // MARK: - Writer

    /// Encodes, writes and evicts for one record. Runs on a thread that may block.
    private func process(_ pending: PendingRecord) {
        defer {
            queuedBytes.subtract(pending.body.count + pending.responseJSON.count, ordering: .relaxed)
            reportDrops(force: false)
        }
        let contents: [UInt8]
        do {
            contents = try ReviewRecord.encode(body: pending.body, responseJSON: pending.responseJSON)
        } catch {
            failed.add(1, ordering: .relaxed)
            logger.error("review recorder: cannot record review: \(error)", metadata: ["uid": "\(pending.uid)"])
            return
        }
        guard contents.count <= limits.maximumBytes else {
            failed.add(1, ordering: .relaxed)
            logger.warning("review recorder: review is larger than the record directory's byte limit; not recorded", metadata: [
                "uid": "\(pending.uid)", "bytes": "\(contents.count)", "maximumBytes": "\(limits.maximumBytes)",
            ])
            return
        }
        writer.withLock { state in
            let name = state.nextName(receivedAt: pending.receivedAt, uid: pending.uid)
            do throws(WriteFailure) {
                try RecordFiles.write(contents, directory: directory, name: name)
            } catch {
                failed.add(1, ordering: .relaxed)
                logWriteFailure(error, state: &state)
                return
            }
            written.add(1, ordering: .relaxed)
            state.index.insert(RecordIndex.Entry(name: name, size: contents.count))
            evict(&state)
        }
    }

    /// Deletes the oldest files until both limits hold.
    private func evict(_ state: inout WriterState) {
        for entry in state.index.removeOldest(maximumFiles: limits.maximumFiles, maximumBytes: limits.maximumBytes) {
            let path = directory + "/" + entry.name
            // Gone already (deleted by hand) is what we wanted anyway.
            if unlink(path) != 0, errno != ENOENT {
                logger.error("review recorder: cannot delete old record", metadata: ["path": "\(path)", "reason": "\(RecordFiles.reason(errno))"])
            }
        }
    }

    /// A full disk fails every write; one error line per interval says so without flooding the log.
    private func logWriteFailure(_ failure: WriteFailure, state: inout WriterState) {
        let now = ContinuousClock.now
        if let last = state.lastFailureLog, now - last < WriterState.logInterval {
            state.suppressedFailures += 1
            return
        }
        var metadata: Logger.Metadata = ["path": "\(failure.path)", "reason": "\(failure.reason)"]
        if state.suppressedFailures > 0 { metadata["suppressedFailures"] = "\(state.suppressedFailures)" }
        logger.error("review recorder: cannot write record", metadata: metadata)
        state.lastFailureLog = now
        state.suppressedFailures = 0
    }

    /// `record` must not log (it is on the request path), so the writer reports new drops.
    private func reportDrops(force: Bool) {
        let total = dropped.load(ordering: .relaxed)
        writer.withLock { state in
            guard total > state.reportedDrops else { return }
            let now = ContinuousClock.now
            if !force, let last = state.lastDropLog, now - last < WriterState.logInterval { return }
            logger.warning("review recorder: queue full; reviews not recorded", metadata: [
                "dropped": "\(total - state.reportedDrops)", "droppedTotal": "\(total)", "queueDepth": "\(limits.queueDepth)",
            ])
            state.reportedDrops = total
            state.lastDropLog = now
        }
    }
}

/// One queued review, as received. Decoding waits for the writer.
struct PendingRecord: Sendable {
    var body: [UInt8]
    var responseJSON: [UInt8]
    var uid: String
    var receivedAt: RecordTime
}

/// A wall-clock time with microseconds: file names sort by it.
struct RecordTime: Sendable, Equatable {
    var seconds: Int
    var microseconds: Int

    static func now() -> RecordTime {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return RecordTime(seconds: Int(now.tv_sec), microseconds: Int(now.tv_nsec) / 1000)
    }

    /// `yyyyMMdd'T'HHmmss.SSSSSS` in UTC.
    var fileNameStamp: String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        let micros = String(microseconds)
        return pad(parts.tm_year + 1900, 4) + pad(parts.tm_mon + 1, 2) + pad(parts.tm_mday, 2) + "T"
            + pad(parts.tm_hour, 2) + pad(parts.tm_min, 2) + pad(parts.tm_sec, 2) + "."
            + String(repeating: "0", count: max(0, 6 - micros.count)) + micros
    }
}

/// The writer's state: the index of files on disk, the name sequence and log throttling.
struct WriterState: Sendable {
    static let logInterval = Duration.seconds(10)

    var index: RecordIndex
    var sequence = 0
    var lastFailureLog: ContinuousClock.Instant?
    var suppressedFailures = 0
    var reportedDrops = 0
    var lastDropLog: ContinuousClock.Instant?

    /// `<time>-<6-digit sequence>-<uid>.json`; never a name already in the index, so a clock that
    /// steps back cannot overwrite a record.
    mutating func nextName(receivedAt: RecordTime, uid: String) -> String {
        let stamp = receivedAt.fileNameStamp
        let safeUID = ReviewRecord.sanitizedUID(uid)
        while true {
            sequence = (sequence + 1) % 1_000_000
            let digits = String(sequence)
            let name = stamp + "-" + String(repeating: "0", count: 6 - digits.count) + digits + "-" + safeUID + ".json"
            if !index.contains(name) { return name }
        }
    }
}

/// The record files on disk, oldest first by name, with their total size.
struct RecordIndex: Sendable {
    struct Entry: Sendable, Equatable {
        var name: String
        var size: Int
    }

    private(set) var entries: [Entry] = []
    private(set) var totalBytes = 0
    private var names: Set<String> = []

    init(_ entries: [Entry] = []) {
        for entry in entries.sorted(by: { RecordIndex.precedes($0.name, $1.name) }) { insert(entry) }
    }

    func contains(_ name: String) -> Bool { names.contains(name) }

    /// Inserts in name order; new names almost always sort last, so the search starts at the end.
    mutating func insert(_ entry: Entry) {
        guard names.insert(entry.name).inserted else { return }
        var position = entries.endIndex
        while position > entries.startIndex, RecordIndex.precedes(entry.name, entries[position - 1].name) { position -= 1 }
        entries.insert(entry, at: position)
        totalBytes += entry.size
    }

    /// Removes and returns the oldest entries until both limits hold.
    mutating func removeOldest(maximumFiles: Int, maximumBytes: Int) -> [Entry] {
        var count = 0
        var bytes = totalBytes
        while count < entries.count, entries.count - count > maximumFiles || bytes > maximumBytes {
            bytes -= entries[count].size
            count += 1
        }
        guard count > 0 else { return [] }
        let removed = Array(entries[..<count])
        entries.removeFirst(count)
        totalBytes = bytes
        for entry in removed { names.remove(entry.name) }
        return removed
    }

    /// Byte order, as `ls` and `replay` sort names, independent of Unicode collation.
    static func precedes(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }
}

/// A failed write of one record file.
struct WriteFailure: Error, Sendable {
    var path: String
    var reason: String
}

/// The directory and file system calls of the recorder.
enum RecordFiles {
    static let temporaryPrefix = ".tmp-"

    /// `mkdir -p` with mode 0o700, then checks that the result is a writable directory.
    static func createDirectory(_ directory: String) throws(RecorderError) {
        guard !directory.isEmpty else {
            throw RecorderError(kind: .createDirectory, path: directory, reason: "the path is empty")
        }
        var prefix = directory.hasPrefix("/") ? "" : "."
        for component in directory.split(separator: "/", omittingEmptySubsequences: true) {
            prefix += "/" + component
            if mkdir(prefix, 0o700) != 0, errno != EEXIST {
                throw RecorderError(kind: .createDirectory, path: directory, reason: reason(errno))
            }
        }
        var info = stat()
        guard stat(directory, &info) == 0 else {
            throw RecorderError(kind: .createDirectory, path: directory, reason: reason(errno))
        }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw RecorderError(kind: .notADirectory, path: directory, reason: reason(ENOTDIR))
        }
        // Fail at startup rather than on every review.
        guard access(directory, W_OK | X_OK) == 0 else {
            throw RecorderError(kind: .notWritable, path: directory, reason: reason(errno))
        }
    }

    /// The regular `*.json` files (dot files excluded) and their sizes; deletes stale temporaries.
    static func index(_ directory: String, logger: Logger) throws(RecorderError) -> RecordIndex {
        guard let handle = opendir(directory) else {
            throw RecorderError(kind: .readDirectory, path: directory, reason: reason(errno))
        }
        defer { closedir(handle) }
        var entries: [RecordIndex.Entry] = []
        while true {
            errno = 0
            guard let entry = readdir(handle) else {
                if errno != 0 { throw RecorderError(kind: .readDirectory, path: directory, reason: reason(errno)) }
                break
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            let path = directory + "/" + name
            if name.hasPrefix(temporaryPrefix) {
                // Left by a write the previous process did not finish; never a complete record.
                if unlink(path) != 0, errno != ENOENT {
                    logger.warning("review recorder: cannot delete stale temporary file", metadata: ["path": "\(path)", "reason": "\(reason(errno))"])
                }
                continue
            }
            guard !name.hasPrefix("."), name.hasSuffix(".json") else { continue }
            var info = stat()
            guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
            entries.append(RecordIndex.Entry(name: name, size: Int(info.st_size)))
        }
        return RecordIndex(entries)
    }

    /// Writes `contents` to a temporary file in `directory` and renames it to `name`, so that a
    /// reader never sees a partial record. Mode 0o600: records hold cluster data.
    static func write(_ contents: [UInt8], directory: String, name: String) throws(WriteFailure) {
        let path = directory + "/" + name
        let temporary = directory + "/" + temporaryPrefix + name
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw WriteFailure(path: temporary, reason: reason(errno)) }
        var failure: WriteFailure?
        contents.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let count = systemWrite(descriptor, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                if count < 0 {
                    if errno == EINTR { continue }
                    failure = WriteFailure(path: temporary, reason: reason(errno))
                    return
                }
                offset += count
            }
        }
        // close reports deferred write errors on some file systems (NFS).
        if close(descriptor) != 0, failure == nil { failure = WriteFailure(path: temporary, reason: reason(errno)) }
        if failure == nil, rename(temporary, path) != 0 { failure = WriteFailure(path: path, reason: reason(errno)) }
        if let failure {
            unlink(temporary)
            throw failure
        }
    }

    static func reason(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}

/// `write(2)`, named apart from `RecordFiles.write`.
@inline(__always)
private func systemWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
    write(descriptor, buffer, count)
}

/// Why a queued review could not be turned into a record.
struct RecordEncodingError: Error, Sendable, CustomStringConvertible {
    var description: String
}

/// The record file's content: a full AdmissionReview with the redacted request and the response.
enum ReviewRecord {
    static let redacted = "<redacted>"
    static let lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

    /// `{"apiVersion":…,"kind":"AdmissionReview","request":<redacted request>,"response":<response>}`.
    static func encode(body: [UInt8], responseJSON: [UInt8]) throws(RecordEncodingError) -> [UInt8] {
        let document: JSONDocument
        let review: AdmissionReviewRequest
        do {
            document = try JSONDocument(parsing: body)
        } catch {
            throw RecordEncodingError(description: "the review is not JSON: \(error)")
        }
        do {
            review = try AdmissionReviewRequest(json: document.root)
        } catch {
            throw RecordEncodingError(description: "not an AdmissionReview: \(error)")
        }
        guard let request = review.isBareRequest ? document.root : document.root["request"] else {
            throw RecordEncodingError(description: "the AdmissionReview has no request")
        }
        let responseDocument: JSONDocument
        do {
            responseDocument = try JSONDocument(parsing: responseJSON)
        } catch {
            throw RecordEncodingError(description: "the response is not JSON: \(error)")
        }
        var response = responseDocument.root
        // Accept the whole response envelope too, and store only its `response`.
        if response["kind"]?.string == "AdmissionReview", let inner = response["response"] { response = inner }
        guard response.isObject else {
            throw RecordEncodingError(description: "the response is \(response.typeName), not an AdmissionResponse object")
        }

        var writer = JSONWriter(capacity: body.count + responseJSON.count + 96)
        writer.beginObject()
        writer.key("apiVersion")
        writer.string(review.apiVersion.rawValue)
        writer.key("kind")
        writer.string("AdmissionReview")
        writer.key("request")
        writer.beginObject()
        for (key, value) in request.members {
            writer.key(key)
            if key == "object" || key == "oldObject" {
                copy(value, into: &writer, context: .plain)
            } else {
                writer.raw(value.rawBytes)
            }
        }
        writer.endObject()
        writer.key("response")
        writer.raw(response.rawBytes)
        writer.endObject()
        return writer.bytes
    }

    /// Where a value sits, as far as redaction cares.
    enum Context {
        case plain
        /// The array under an `env` key: its object elements are env vars.
        case envList
        /// One env var: its `value` is redacted.
        case envVar
        /// An `annotations` object: the last-applied configuration is redacted.
        case annotations
    }

    /// Re-serialises `value` compactly, member order and scalars' source text unchanged, redacting
    /// env values and the last-applied annotation at any depth.
    static func copy(_ value: JSONValue, into writer: inout JSONWriter, context: Context) {
        if value.isObject {
            writer.beginObject()
            for (key, member) in value.members {
                writer.key(key)
                // `null` holds nothing secret and stays as sent; anything else goes.
                if (context == .envVar && key == "value") || (context == .annotations && key == lastAppliedAnnotation), !member.isNull {
                    writer.string(redacted)
                    continue
                }
                let child: Context =
                    if key == "env", member.isArray { .envList }
                    else if key == "annotations", member.isObject { .annotations }
                    else { .plain }
                copy(member, into: &writer, context: child)
            }
            writer.endObject()
        } else if value.isArray {
            writer.beginArray()
            for element in value.elements {
                copy(element, into: &writer, context: context == .envList && element.isObject ? .envVar : .plain)
            }
            writer.endArray()
        } else {
            // Strings keep their escapes and numbers their spelling: value for value.
            writer.raw(value.rawBytes)
        }
    }

    /// The uid as a file name part: `[A-Za-z0-9-]` only, at most 64 characters, never empty.
    static func sanitizedUID(_ uid: String) -> String {
        var result = ""
        for byte in uid.utf8.prefix(64) {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                result.append("-")
            }
        }
        return result.isEmpty ? "no-uid" : result
    }
}
