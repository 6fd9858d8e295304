#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed system call, as a short lower-case reason ("no such file or directory").
struct SystemError: Error, Sendable, Equatable {
    var reason: String

    init(reason: String) { self.reason = reason }

    init(errno code: Int32) {
        switch code {
        case ENOENT: reason = "no such file or directory"
        case EACCES, EPERM: reason = "permission denied"
        case ENOTDIR: reason = "not a directory"
        case ELOOP: reason = "too many levels of symbolic links"
        case EISDIR: reason = "is a directory"
        case ENAMETOOLONG: reason = "file name too long"
        default:
            var text = String(cString: strerror(code))
            if let first = text.first { text = first.lowercased() + text.dropFirst() }
            reason = text
        }
    }
}

/// The few file-system calls the reader needs, on POSIX, without Foundation.
enum FileSystem {
    enum EntryType: Sendable, Equatable {
        case regular, directory, symbolicLink, other
    }

    struct Status: Sendable {
        var type: EntryType
        var size: Int
    }

    /// `stat` (following symbolic links) or `lstat`.
    static func status(_ path: String, followLinks: Bool) throws(SystemError) -> Status {
        var info = stat()
        let result = followLinks ? stat(path, &info) : lstat(path, &info)
        guard result == 0 else { throw SystemError(errno: errno) }
        return Status(type: entryType(info.st_mode), size: Int(info.st_size))
    }

    private static func entryType(_ mode: mode_t) -> EntryType {
        switch mode & S_IFMT {
        case S_IFREG: .regular
        case S_IFDIR: .directory
        case S_IFLNK: .symbolicLink
        default: .other
        }
    }

    /// The names in a directory, without `.` and `..`, unsorted.
    static func contentsOfDirectory(_ path: String) throws(SystemError) -> [String] {
        guard let directory = opendir(path) else { throw SystemError(errno: errno) }
        defer { closedir(directory) }
        var names: [String] = []
        while true {
            errno = 0
            guard let entry = readdir(directory) else {
                if errno != 0 { throw SystemError(errno: errno) }
                break
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw -> String in
                let bytes = raw.prefix { $0 != 0 }
                return String(decoding: bytes, as: UTF8.self)
            }
            if name == "." || name == ".." || name.isEmpty { continue }
            names.append(name)
        }
        return names
    }

    /// Reads a whole file (or standard input for `path == nil`), refusing more than `limit` bytes.
    /// A regular file larger than the limit is refused before anything is read.
    static func read(_ path: String?, limit: Int) throws(SystemError) -> [UInt8] {
        let descriptor: Int32
        if let path {
            descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { throw SystemError(errno: errno) }
        } else {
            descriptor = 0
        }
        defer { if path != nil { close(descriptor) } }

        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw SystemError(errno: errno) }
        var expected = 0
        switch entryType(info.st_mode) {
        case .directory:
            throw SystemError(errno: EISDIR)
        case .regular:
            expected = Int(info.st_size)
            guard expected <= limit else { throw tooLarge(limit) }
        default:
            break
        }

        var bytes: [UInt8] = []
        bytes.reserveCapacity(expected + 1)
        let chunkSize = 1 << 20
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        while true {
            let count = chunk.withUnsafeMutableBytes { buffer in
                systemRead(descriptor, buffer.baseAddress, chunkSize)
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw SystemError(errno: errno)
            }
            if count == 0 { break }
            guard bytes.count + count <= limit else { throw tooLarge(limit) }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return bytes
    }

    private static func tooLarge(_ limit: Int) -> SystemError {
        SystemError(reason: "file is larger than \(limit >> 20) MiB; split it into smaller files")
    }
}

/// `read(2)`, named apart from the reader's own `read` functions.
@inline(__always)
private func systemRead(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(descriptor, buffer, count)
}
