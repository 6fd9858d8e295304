/// One review to evaluate: the JSON text of a full AdmissionReview or of a bare AdmissionRequest.
public struct InputDocument: Sendable, Equatable {
    /// Where it came from: `FILE` when the file held exactly one document, else `FILE#N`
    /// (N is the 1-based index of the document within the file).
    public var source: String
    /// The JSON text. For JSON input these are the exact input bytes of the value; YAML input,
    /// audit events and manifests are converted.
    public var bytes: [UInt8]

    public init(source: String, bytes: [UInt8]) {
        self.source = source
        self.bytes = bytes
    }
}

/// Something in the input that could not be read, and exactly where.
///
/// `line` and `column` are 1-based. Columns count bytes in JSON input and Unicode scalars in YAML
/// input (as libyaml reports them). `document` is the 1-based index of the document within the file,
/// set when the file holds more than one.
public struct InputError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var column: Int?
    public var document: Int?
    public var reason: String

    public init(file: String, line: Int? = nil, column: Int? = nil, document: Int? = nil, reason: String) {
        self.file = file
        self.line = line
        self.column = column
        self.document = document
        self.reason = reason
    }

    /// `FILE:LINE:COL: reason`, `FILE#N: reason` or `FILE: reason`.
    public var description: String {
        if let line {
            if let column { return "\(file):\(line):\(column): \(reason)" }
            return "\(file):\(line): \(reason)"
        }
        if let document { return "\(file)#\(document): \(reason)" }
        return "\(file): \(reason)"
    }
}

/// One result of reading the input, in input order.
public enum InputItem: Sendable, Equatable {
    /// A review to evaluate.
    case document(InputDocument)
    /// Something that could not be read; reading went on with what follows.
    case error(InputError)
    /// Information for the user, e.g. a skipped file or skipped audit events (not an error).
    case note(String)
}

/// What the input is expected to hold.
public enum InputKind: Sendable {
    /// `replay`: AdmissionReviews, bare AdmissionRequests and Kubernetes audit events.
    case reviews
    /// `check`: Kubernetes objects (manifests, Lists), each wrapped into a CREATE request;
    /// AdmissionReviews, AdmissionRequests and audit events are accepted too.
    case manifests
}
