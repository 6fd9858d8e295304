import Logging
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

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

