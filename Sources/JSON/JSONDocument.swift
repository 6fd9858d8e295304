/// A parsed JSON text: the bytes plus a flat tape of nodes in document order.
///
/// Parsing validates the whole text (RFC 8259: grammar, escapes, surrogate pairs, UTF-8) but
/// decodes nothing: strings and numbers stay byte ranges until a reader asks for them. This keeps
/// a 6 KB AdmissionReview at a few microseconds, where Foundation's `JSONDecoder` needs ~200 µs.
public struct JSONDocument: Sendable {
    /// The tape the parser wrote, kept as written (not copied), and the text; freed, and the tape's
    /// bytes given back to `limits.budget`, when the last copy of the document goes.
    @usableFromInline let nodes: JSONNodes

    /// The text parsed.
    @inlinable public var bytes: [UInt8] { nodes.text }

    /// Parses `bytes` as one JSON value (any value, not only an object).
    public init(parsing bytes: [UInt8], limits: JSONLimits = .init()) throws(JSONParseError) {
        var parser = JSONParser(bytes: bytes, limits: limits)
        self.nodes = try parser.parse()
    }

    /// Bytes the node tape holds (charged to `JSONLimits.budget` while the document lives).
    public var tapeBytes: Int { nodes.reservedBytes }

    /// Values (nodes) in the document.
    public var nodeCount: Int { nodes.count }

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
    /// Most values (nodes) in one text. Each costs `JSONLimits.bytesPerNode` of tape, so dense input
    /// such as `[0,0,0,…]` (one node per 2 bytes) cannot turn a body into 8 times its size unchecked.
    public var maximumNodes: Int
    /// Charged for the tape before each allocation and credited when the document goes; nil charges nothing.
    public var budget: (any JSONMemoryBudget)?

    /// Memory one node takes on the tape.
    public static let bytesPerNode = MemoryLayout<JSONNode>.stride
    /// 2.5 Mi nodes (30 MiB of tape): above the densest review the apiserver can send, an UPDATE whose
    /// object and old object are both 3 MiB arrays of empty strings (2.1 Mi nodes, 3 bytes each).
    public static let defaultMaximumNodes = 5 << 19

    public init(maximumDepth: Int = 512, maximumBytes: Int = 64 << 20, maximumNodes: Int = JSONLimits.defaultMaximumNodes, budget: (any JSONMemoryBudget)? = nil) {
        self.maximumDepth = maximumDepth
        self.maximumBytes = maximumBytes
        self.maximumNodes = maximumNodes
        self.budget = budget
    }
}

/// Memory a caller lets parsing use: the server passes its request-bytes budget, so a parse tape is
/// counted like the body it came from.
public protocol JSONMemoryBudget: Sendable {
    /// Takes `bytes`, or returns false when that would pass the limit.
    func reserve(_ bytes: Int) -> Bool
    /// Gives back bytes taken with `reserve`.
    func release(_ bytes: Int)
}

/// Why a text is not JSON, and where.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Zero-based byte offset of the offending byte.
    public var offset: Int
    /// One-based line and column (columns count bytes).
    public var line: Int
    public var column: Int
    public var reason: String
    /// The text may be valid: parsing stopped because `JSONLimits.budget` had no room for its tape.
    public var exhaustedBudget: Bool

    public init(offset: Int, line: Int, column: Int, reason: String, exhaustedBudget: Bool = false) {
        self.offset = offset
        self.line = line
        self.column = column
        self.reason = reason
        self.exhaustedBudget = exhaustedBudget
    }

    public var description: String { "line \(line), column \(column) (byte \(offset)): \(reason)" }
}

@usableFromInline
enum JSONNodeKind: UInt8, Sendable {
    case object, array, string, number, `true`, `false`, null
}

/// One value on the tape. Containers store the index just past their subtree in `next`, so a reader
/// skips a whole subtree in one step. Strings and numbers store their byte range (strings without quotes).
///
/// 12 bytes: the kind and the escape flag share a word with `start`, whose offsets stay below
/// 2^28 (`JSONNode.maximumOffset`). The tape is most of a document's memory, up to one node per 2 bytes.
@usableFromInline
struct JSONNode: Sendable {
    /// Bits 0–27: start offset; 28–30: kind; 31: escaped.
    @usableFromInline let packed: UInt32
    @usableFromInline var end: Int32
    @usableFromInline var next: Int32

    /// Texts must be shorter than this for offsets to fit.
    static let maximumOffset = 1 << 28

    @inlinable
    init(kind: JSONNodeKind, escaped: Bool = false, start: Int32, end: Int32, next: Int32) {
        packed = UInt32(truncatingIfNeeded: start) & 0x0FFF_FFFF | UInt32(kind.rawValue) << 28 | (escaped ? 1 << 31 : 0)
        self.end = end
        self.next = next
    }

    @inlinable var kind: JSONNodeKind {
        // Only the parser writes `packed`, always from a valid kind.
        JSONNodeKind(rawValue: UInt8(truncatingIfNeeded: (packed >> 28) & 0x7)) ?? .null
    }

    /// Strings: the text contains a backslash escape and must be decoded before use.
    @inlinable var escaped: Bool { packed & (1 << 31) != 0 }

    @inlinable var start: Int32 { Int32(bitPattern: packed & 0x0FFF_FFFF) }
}
