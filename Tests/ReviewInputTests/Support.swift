import AdmissionModel
import JSON
import ReviewInput
import Testing
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A fresh directory under the system's temporary directory, removed by `close()`.
struct TemporaryDirectory {
    let path: String

    init() throws {
        let base = FileManager.default.temporaryDirectory.path
        path = (base.hasSuffix("/") ? base : base + "/") + "ReviewInputTests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// Writes `text` to `name` (sub-directories created) and returns the file's path.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        try write(name, bytes: Array(text.utf8))
    }

    @discardableResult
    func write(_ name: String, bytes: [UInt8]) throws -> String {
        let file = path + "/" + name
        let parent = String(file[..<(file.lastIndex(of: "/") ?? file.endIndex)])
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        return file
    }

    func close() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Runs `body` with a fresh temporary directory and removes it afterwards.
func withTemporaryDirectory(_ body: (TemporaryDirectory) throws -> Void) throws {
    let directory = try TemporaryDirectory()
    defer { directory.close() }
    try body(directory)
}

extension InputItem {
    var document: InputDocument? {
        if case .document(let document) = self { return document }
        return nil
    }

    var error: InputError? {
        if case .error(let error) = self { return error }
        return nil
    }

    var note: String? {
        if case .note(let note) = self { return note }
        return nil
    }
}

extension InputDocument {
    /// The document parsed, for asserting fields.
    func parsed() throws -> JSONDocument {
        try JSONDocument(parsing: bytes)
    }

    var text: String { String(decoding: bytes, as: UTF8.self) }
}

/// Every document in `items`, in order.
func documents(_ items: [InputItem]) -> [InputDocument] {
    items.compactMap(\.document)
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// A complete AdmissionReview for a Pod, compact, with `uid`.
func review(uid: String, user: Int = 1000) -> String {
    #"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"\#(uid)","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"namespace":"shop","operation":"CREATE","userInfo":{"username":"alice"},"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web"},"spec":{"securityContext":{"runAsUser":\#(user)},"containers":[{"name":"web","image":"nginx:1.27"}]}}}}"#
}
