/// A parsed JSON text: the bytes plus a flat tape of nodes in document order.
///
/// Parsing validates the whole text (RFC 8259: grammar, escapes, surrogate pairs, UTF-8) but
/// decodes nothing: strings and numbers stay byte ranges until a reader asks for them. This keeps
/// a 6 KB AdmissionReview at a few microseconds, where Foundation's `JSONDecoder` needs ~200 µs.
public struct JSONDocument: Sendable {
    public let bytes: [UInt8]
    @usableFromInline let nodes: [JSONNode]

    /// Parses `bytes` as one JSON value (any value, not only an object).
    public init(parsing bytes: [UInt8], limits: JSONLimits = .init()) throws(JSONParseError) {
        var parser = JSONParser(bytes: bytes, limits: limits)
        self.nodes = try parser.parse()
        self.bytes = bytes
    }

    /// Parses UTF-8 text.
    public init(parsing text: String, limits: JSONLimits = .init()) throws(JSONParseError) {
        try self.init(parsing: Array(text.utf8), limits: limits)
    }

    /// The top-level value.
    public var root: JSONValue { JSONValue(document: self, index: 0) }
}

/// Bounds applied while parsing, so hostile input costs bounded time and memory.
public struct JSONLimits: Sendable {
    /// Deepest nesting of arrays and objects. Foundation's parser uses the same 512. The parser
    /// keeps open containers in a heap array, not on the call stack, so even a raised limit
    /// cannot overflow the stack.
    public var maximumDepth: Int
    /// Largest accepted text, in bytes.
    public var maximumBytes: Int

    public init(maximumDepth: Int = 512, maximumBytes: Int = 64 << 20) {
        self.maximumDepth = maximumDepth
        self.maximumBytes = maximumBytes
    }
}

/// Why a text is not JSON, and where.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Zero-based byte offset of the offending byte.
    public var offset: Int
    /// One-based line and column (columns count bytes).
    public var line: Int
    public var column: Int
    public var reason: String

    public var description: String { "line \(line), column \(column) (byte \(offset)): \(reason)" }
}

@usableFromInline
enum JSONNodeKind: UInt8, Sendable {
    case object, array, string, number, `true`, `false`, null
}

/// One value on the tape. Containers store the index just past their subtree in `next`, so a reader
/// skips a whole subtree in one step. Strings and numbers store their byte range (strings without quotes).
@usableFromInline
struct JSONNode: Sendable {
    @usableFromInline var kind: JSONNodeKind
    /// Strings: the text contains a backslash escape and must be decoded before use.
    @usableFromInline var escaped: Bool
    @usableFromInline var start: Int32
    @usableFromInline var end: Int32
    @usableFromInline var next: Int32

    @inlinable
    init(kind: JSONNodeKind, escaped: Bool = false, start: Int32, end: Int32, next: Int32) {
        self.kind = kind
        self.escaped = escaped
        self.start = start
        self.end = end
        self.next = next
    }
}
