import AdmissionModel
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import JSON
import Logging
@testable import ReviewRecording
import Synchronization
@testable import WebhookServer
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Lines a `JSONLogHandler` wrote through `.custom`, for assertions.
final class CapturedLog: Sendable {
    private let storage = Mutex<[String]>([])

    var lines: [String] { storage.withLock { $0 } }

    func append(_ line: String) { storage.withLock { $0.append(line) } }

    /// A logger at `trace` that writes here.
    func logger(label: String = "test") -> Logger {
        Logger(label: label) { label in
            JSONLogHandler(label: label, level: .trace, output: .custom { self.append($0) })
        }
    }

    /// Parsed lines at `level`.
    func records(level: String) throws -> [JSONValue] {
        try lines.map { try JSONDocument(parsing: $0).root }.filter { $0["level"]?.string == level }
    }
}

/// A fresh directory under the system temporary directory, removed after `body`.
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    var template = Array("/tmp/webhook-server-tests-XXXXXX".utf8CString)
    let path = template.withUnsafeMutableBufferPointer { buffer -> String? in
        guard let base = buffer.baseAddress, let result = mkdtemp(base) else { return nil }
        return String(cString: result)
    }
    guard let path else { throw TestFailure("mkdtemp failed: errno \(errno)") }
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Names in a directory, sorted, dot files included.
func directoryNames(_ path: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: path).sorted()
}

func readBytes(_ path: String) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else { throw TestFailure("cannot read \(path)") }
    return [UInt8](data)
}

func writeText(_ text: String, to path: String) throws {
    guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else { throw TestFailure("cannot write \(path)") }
}

/// Waits until `condition` holds, or fails after a few seconds.
func eventually(_ what: String, _ condition: () -> Bool) async throws {
    for _ in 0..<500 {
        if condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    throw TestFailure("timed out waiting for \(what)")
}

extension JSONValue {
    /// Follows object keys and array indices: `value.at("spec", "containers", 0, "env")`.
    func at(_ path: any Sendable...) -> JSONValue? {
        var current: JSONValue? = self
        for step in path {
            if let key = step as? String {
                current = current?.member(key)
            } else if let index = step as? Int {
                guard let elements = current?.elements, elements.indices.contains(index) else { return nil }
                current = elements[index]
            } else {
                return nil
            }
        }
        return current
    }

    var rawText: String { String(decoding: rawBytes, as: UTF8.self) }
}
