import Foundation

/// Locates the project and the upstream conformance data the tests read in place.
public enum TestPaths {
    /// The directory that holds Package.swift.
    public static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url
    }()

    /// `$NONROOT_CONFORMANCE_DIR`, else `../shared/conformance` next to the project; nil (with a
    /// printed note naming both) when neither exists.
    public static var conformance: URL? {
        let candidates = [
            ProcessInfo.processInfo.environment["NONROOT_CONFORMANCE_DIR"].map { URL(fileURLWithPath: $0) },
            packageRoot.deletingLastPathComponent().appendingPathComponent("shared/conformance"),
        ].compactMap { $0 }
        for candidate in candidates where FileManager.default.fileExists(atPath: candidate.appendingPathComponent("README.md").path) {
            return candidate
        }
        print("note: conformance data not found at $NONROOT_CONFORMANCE_DIR or \(candidates.last?.path ?? "../shared/conformance"); skipping")
        return nil
    }

    /// Files under `directory` with the extension, sorted by path.
    public static func files(in directory: URL, withExtension ext: String) -> [URL] {
        guard let enumerator = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil) else { return [] }
        return enumerator.compactMap { $0 as? URL }.filter { $0.pathExtension == ext }.sorted { $0.path < $1.path }
    }

    public static func bytes(_ url: URL) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: url))
    }
}
