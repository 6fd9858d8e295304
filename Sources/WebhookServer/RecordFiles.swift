import Logging
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

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

