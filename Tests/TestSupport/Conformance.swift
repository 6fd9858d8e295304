public import Foundation
public import Testing

/// Locates the project and the upstream conformance data the tests read in place.
public enum TestPaths {
    /// The directory that holds Package.swift.
    public static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url
    }()

    /// True when `CI=true`: CI must never skip a test for want of its data or fixture.
    public static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// Where the conformance data is looked for: `$NONROOT_CONFORMANCE_DIR` when set (and then only
    /// there, so a wrong setting is noticed), else `../shared/conformance` next to the project.
    /// A folder counts when it holds README.md.
    public static let conformanceLocation: URL =
        conformanceFromEnvironment.map { URL(fileURLWithPath: $0) } ?? packageRoot.deletingLastPathComponent().appendingPathComponent("shared/conformance")

    private static let conformanceFromEnvironment: String? =
        ProcessInfo.processInfo.environment["NONROOT_CONFORMANCE_DIR"].flatMap { $0.isEmpty ? nil : $0 }

    /// The conformance data folder, or nil when it is missing. Looked up once per process.
    public static let conformance: URL? =
        FileManager.default.fileExists(atPath: conformanceLocation.appendingPathComponent("README.md").path) ? conformanceLocation : nil

    /// Says where the data was looked for; the text of both the local skip and the CI failure.
    public static var conformanceMissingNote: String {
        let source = conformanceFromEnvironment == nil ? "../shared/conformance" : "$NONROOT_CONFORMANCE_DIR"
        return "conformance data not found: no README.md in \(conformanceLocation.path) (from \(source)); put the data at ../shared/conformance or set NONROOT_CONFORMANCE_DIR"
    }

    /// The conformance data folder for a test that reads it.
    /// - Returns: the folder; nil (after printing a note) when it is missing and `CI` is not `true`.
    /// - Throws: `ConformanceDataMissing` when it is missing under `CI=true`, so the test fails
    ///   instead of passing without having checked anything.
    public static func conformanceData() throws(ConformanceDataMissing) -> URL? {
        if let conformance { return conformance }
        if isCI { throw ConformanceDataMissing(description: "CI=true never skips: " + conformanceMissingNote) }
        print("note: skipping: " + conformanceMissingNote)
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

/// Thrown by `TestPaths.conformanceData()` under `CI=true` when the data is missing.
public struct ConformanceDataMissing: Error, CustomStringConvertible {
    public var description: String
}

extension Trait where Self == ConditionTrait {
    /// Runs the test when the conformance data is present, and always under `CI=true` (where the test
    /// then fails through `TestPaths.conformanceData()`). Elsewhere the test is reported as skipped,
    /// with the place looked in, rather than passing without checking anything.
    public static var needsConformanceData: Self {
        .enabled(if: TestPaths.conformance != nil || TestPaths.isCI, Comment(rawValue: TestPaths.conformanceMissingNote))
    }
}
