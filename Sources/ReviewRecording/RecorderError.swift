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
