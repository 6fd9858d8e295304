import CJSONScan

/// A single-pass validating JSON parser that writes a node tape.
struct JSONParser {
    let bytes: [UInt8]
    let limits: JSONLimits

    init(bytes: [UInt8], limits: JSONLimits) {
        self.bytes = bytes
        self.limits = limits
    }

    mutating func parse() throws(JSONParseError) -> JSONNodes {
        guard bytes.count <= limits.maximumBytes else {
            throw JSONParser.error(in: bytes, at: limits.maximumBytes, "text is larger than \(limits.maximumBytes) bytes")
        }
        guard bytes.count < JSONNode.maximumOffset else {
            throw JSONParser.error(in: bytes, at: 0, "text is too large")
        }
        let count = bytes.count
        let maximumDepth = limits.maximumDepth
        // About one node per 10 bytes in Kubernetes objects; reserve a little more to avoid regrowing.
        let initial = min(count / 8 + 16, max(limits.maximumNodes, 1))
        guard var tape = NodeTape(capacity: initial, maximumNodes: limits.maximumNodes, budget: limits.budget) else {
            throw JSONParser.error(in: bytes, at: 0, NodeTape.budgetReason, exhaustedBudget: true)
        }
        // Work on the raw buffer: bounds are checked by hand, once per byte.
        let result: Result<Void, JSONParseError> = bytes.withUnsafeBufferPointer { buffer in
            let scanner = Scanner(p: buffer, count: count, maximumDepth: maximumDepth)
            do throws(Failure) {
                var position = 0
                // Foundation skips a UTF-8 byte order mark; so do we.
                if count >= 3, buffer[0] == 0xEF, buffer[1] == 0xBB, buffer[2] == 0xBF { position = 3 }
                position = scanner.skipWhitespace(position)
                position = try scanner.parseValue(at: position, tape: &tape)
                position = scanner.skipWhitespace(position)
                if position != count {
                    throw Failure(offset: position, reason: "unexpected data after the top-level value")
                }
                return .success(())
            } catch {
                let failure = error
                return .failure(JSONParser.error(in: bytes, at: failure.offset, failure.reason, exhaustedBudget: failure.exhaustedBudget))
            }
        }
        do {
            try result.get()
        } catch {
            tape.deallocate()
            throw error
        }
        return tape.finish(text: bytes)
    }

    static func error(in bytes: [UInt8], at offset: Int, _ reason: String, exhaustedBudget: Bool = false) -> JSONParseError {
        var line = 1
        var column = 1
        var index = 0
        let end = min(offset, bytes.count)
        while index < end {
            if bytes[index] == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else {
                column += 1
            }
            index += 1
        }
        return JSONParseError(offset: offset, line: line, column: column, reason: reason, exhaustedBudget: exhaustedBudget)
    }
}

/// A growable buffer of nodes without `Array`'s per-append uniqueness checks: appends are most
/// of the parser's work, one per value and key. Bounded by a node count and, when given, a budget
/// charged before every allocation; `finish` hands the storage to the document without a copy.
struct NodeTape {
    private var storage: UnsafeMutablePointer<JSONNode>
    private var capacity: Int
    private(set) var count = 0
    private let maximumNodes: Int
    private let budget: (any JSONMemoryBudget)?

    static let budgetReason = "server is busy: no memory left for parsing; retry"

    init?(capacity: Int, maximumNodes: Int, budget: (any JSONMemoryBudget)?) {
        let capacity = max(capacity, 1)
        if let budget, !budget.reserve(capacity * JSONLimits.bytesPerNode) { return nil }
        self.capacity = capacity
        self.maximumNodes = maximumNodes
        self.budget = budget
        storage = .allocate(capacity: capacity)
    }

    /// Appends `node`; fails only when the tape is full (node cap or budget).
    @inline(__always)
    mutating func append(_ node: JSONNode, at offset: Int) throws(Failure) {
        if count == capacity { try grow(at: offset) }
        (storage + count).initialize(to: node)
        count &+= 1
    }

    private mutating func grow(at offset: Int) throws(Failure) {
        guard capacity < maximumNodes else {
            throw Failure(offset: offset, reason: "more than \(maximumNodes) values")
        }
        let larger = min(capacity * 2, maximumNodes)
        // The old and new storage are both held while moving: charge the new one first.
        if let budget, !budget.reserve(larger * JSONLimits.bytesPerNode) {
            throw Failure(offset: offset, reason: NodeTape.budgetReason, exhaustedBudget: true)
        }
        let moved = UnsafeMutablePointer<JSONNode>.allocate(capacity: larger)
        moved.moveInitialize(from: storage, count: count)
        storage.deallocate()
        budget?.release(capacity * JSONLimits.bytesPerNode)
        storage = moved
        capacity = larger
    }

    subscript(index: Int) -> JSONNode {
        @inline(__always) get { storage[index] }
        @inline(__always) set { storage[index] = newValue }
    }

    /// Hands the storage (and its charge) to a `JSONNodes`, which frees both when it goes.
    consuming func finish(text: [UInt8]) -> JSONNodes {
        JSONNodes(text: text, base: storage, count: count, reservedBytes: budget == nil ? 0 : capacity * JSONLimits.bytesPerNode, budget: budget)
    }

    /// Frees the storage and its charge; `JSONNode` is trivial, so nothing needs deinitializing.
    func deallocate() {
        storage.deallocate()
        budget?.release(capacity * JSONLimits.bytesPerNode)
    }
}

/// The finished tape of a document. Immutable once built, hence safe to share across threads.
@usableFromInline
final class JSONNodes: @unchecked Sendable {
    /// The text the tape indexes, held here rather than beside the tape in `JSONDocument`, so that a
    /// `JSONValue` holds one reference: copying a value then costs one retain, not two.
    @usableFromInline let text: [UInt8]
    @usableFromInline let base: UnsafeMutablePointer<JSONNode>
    @usableFromInline let count: Int
    /// What was charged to `budget` for this storage (0 without a budget).
    let reservedBytes: Int
    private let budget: (any JSONMemoryBudget)?

    init(text: [UInt8], base: UnsafeMutablePointer<JSONNode>, count: Int, reservedBytes: Int, budget: (any JSONMemoryBudget)?) {
        self.text = text
        self.base = base
        self.count = count
        self.reservedBytes = reservedBytes
        self.budget = budget
    }

    deinit {
        base.deallocate()
        budget?.release(reservedBytes)
    }

    @inlinable
    subscript(index: Int) -> JSONNode {
        precondition(index >= 0 && index < count, "JSON node index out of range")
        return base[index]
    }

    @inlinable
    func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<JSONNode>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: base, count: count))
    }
}

struct Failure: Error {
    var offset: Int
    var reason: String
    var exhaustedBudget = false
}

/// Offsets, counts and depths here stay below `JSONNode.maximumOffset` (2^28, checked before parsing),
/// so the hot loops add with `&+`: no overflow trap to test on every byte and node.
private struct Scanner {
    let p: UnsafeBufferPointer<UInt8>
    let count: Int
    let maximumDepth: Int

    @inline(__always)
    func skipWhitespace(_ start: Int) -> Int {
        var i = start
        while i < count {
            switch p[i] {
            case 0x20, 0x0A, 0x0D, 0x09: i &+= 1
            default: return i
            }
        }
        return i
    }

    /// Parses one value and everything nested in it, returning the offset just past it.
    ///
    /// Iterative: the machine stack stays flat however deep the input nests (even with a raised
    /// `maximumDepth`). The open containers form a stack linked through the tape itself: while a
    /// container is open, its `next` holds the tape index of the container around it (-1 at the top),
    /// and closing it writes the real `next`. No array to grow or check on every value.
    func parseValue(at start: Int, tape: inout NodeTape) throws(Failure) -> Int {
        // Tape index of the innermost open container (-1: none), and how many are open.
        var current = -1
        var depth = 0
        // Whether `current` is an object: kept here rather than read back from the tape after every value.
        var inObject = false
        var i = start
        // A member's `"key" :` comes first. Parsed here, in the loop: as a function it stayed a call,
        // which spilled and reloaded the string scan's constants around every key.
        var keyFirst = false
        while true {
            if keyFirst {
                keyFirst = false
                guard i < count else { throw Failure(offset: i, reason: "unexpected end of text inside an object") }
                guard p[i] == UInt8(ascii: "\"") else {
                    throw Failure(offset: i, reason: "unexpected character \(describe(p[i])), expected a string key")
                }
                let (keyEnd, escaped) = try scanString(at: i)
                let keyIndex = narrow(tape.count)
                try tape.append(JSONNode(kind: .string, escaped: escaped, start: narrow(i &+ 1), end: narrow(keyEnd &- 1), next: keyIndex &+ 1), at: i)
                i = skipWhitespace(keyEnd)
                guard i < count, p[i] == UInt8(ascii: ":") else {
                    throw Failure(offset: i, reason: i < count ? "unexpected character \(describe(p[i])), expected ':'" : "unexpected end of text, expected ':'")
                }
                i = skipWhitespace(i &+ 1)
            }
            // A value is expected at `i` (leading whitespace already skipped).
            guard i < count else { throw Failure(offset: i, reason: "unexpected end of text, expected a value") }
            var closedEmpty = false
            switch p[i] {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                let isObject = p[i] == UInt8(ascii: "{")
                guard depth < maximumDepth else {
                    throw Failure(offset: i, reason: "nesting is deeper than \(maximumDepth) levels")
                }
                let opened = tape.count
                try tape.append(JSONNode(kind: isObject ? .object : .array, start: narrow(i), end: 0, next: narrow(current)), at: i)
                current = opened
                inObject = isObject
                depth &+= 1
                i = skipWhitespace(i &+ 1)
                if i < count, p[i] == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                    closedEmpty = true
                } else {
                    keyFirst = isObject
                    continue
                }
            case UInt8(ascii: "\""):
                let (end, escaped) = try scanString(at: i)
                let index = narrow(tape.count)
                try tape.append(JSONNode(kind: .string, escaped: escaped, start: narrow(i &+ 1), end: narrow(end &- 1), next: index &+ 1), at: i)
                i = end
            case UInt8(ascii: "t"): i = try literal(at: i, "true", .true, tape: &tape)
            case UInt8(ascii: "f"): i = try literal(at: i, "false", .false, tape: &tape)
            case UInt8(ascii: "n"): i = try literal(at: i, "null", .null, tape: &tape)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                let end = try scanNumber(at: i)
                let index = narrow(tape.count)
                try tape.append(JSONNode(kind: .number, start: narrow(i), end: narrow(end), next: index &+ 1), at: i)
                i = end
            default:
                throw Failure(offset: i, reason: "unexpected character \(describe(p[i])), expected a value")
            }
            // A value ended (or an empty container is about to close at `i`): close containers
            // until one continues with a ',' or the outermost value is complete.
            while current >= 0 {
                let container = current
                if !closedEmpty {
                    i = skipWhitespace(i)
                }
                let isObject = inObject
                guard i < count else {
                    throw Failure(offset: i, reason: isObject ? "unexpected end of text inside an object" : "unexpected end of text inside an array")
                }
                if !closedEmpty && p[i] == UInt8(ascii: ",") {
                    i = skipWhitespace(i &+ 1)
                    keyFirst = isObject
                    break
                }
                if closedEmpty || p[i] == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                    closedEmpty = false
                    i &+= 1
                    current = Int(tape[container].next)
                    inObject = current >= 0 && tape[current].kind == .object
                    depth &-= 1
                    tape[container].end = narrow(i)
                    tape[container].next = narrow(tape.count)
                    continue
                }
                throw Failure(offset: i, reason: "unexpected character \(describe(p[i])), expected ',' or '\(isObject ? "}" : "]")'")
            }
            if current < 0 { return i }
        }
    }

    func literal(at position: Int, _ word: StaticString, _ kind: JSONNodeKind, tape: inout NodeTape) throws(Failure) -> Int {
        let length = word.utf8CodeUnitCount
        guard position + length <= count else { throw Failure(offset: position, reason: "invalid literal, expected '\(word)'") }
        let w = word.utf8Start
        for k in 0..<length where p[position + k] != w[k] {
            throw Failure(offset: position + k, reason: "invalid literal, expected '\(word)'")
        }
        let index = narrow(tape.count)
        try tape.append(JSONNode(kind: kind, start: narrow(position), end: narrow(position + length), next: index &+ 1), at: position)
        return position + length
    }

    /// Validates a number and returns the offset just past it.
    func scanNumber(at position: Int) throws(Failure) -> Int {
        var i = position
        if p[i] == UInt8(ascii: "-") {
            i += 1
        }
        guard i < count, isDigit(p[i]) else { throw Failure(offset: i, reason: "invalid number, expected a digit") }
        if p[i] == UInt8(ascii: "0") {
            i += 1
            if i < count, isDigit(p[i]) { throw Failure(offset: i, reason: "invalid number, leading zeros are not allowed") }
        } else {
            while i < count, isDigit(p[i]) { i += 1 }
        }
        if i < count, p[i] == UInt8(ascii: ".") {
            i += 1
            guard i < count, isDigit(p[i]) else { throw Failure(offset: i, reason: "invalid number, expected a digit after '.'") }
            while i < count, isDigit(p[i]) { i += 1 }
        }
        if i < count, p[i] == UInt8(ascii: "e") || p[i] == UInt8(ascii: "E") {
            i += 1
            if i < count, p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-") { i += 1 }
            guard i < count, isDigit(p[i]) else { throw Failure(offset: i, reason: "invalid number, expected a digit in the exponent") }
            while i < count, isDigit(p[i]) { i += 1 }
        }
        return i
    }

    /// Validates a string starting at its opening quote; returns the offset past the closing quote
    /// and whether it holds escapes.
    @inline(__always)
    func scanString(at position: Int) throws(Failure) -> (Int, Bool) {
        var i = position &+ 1
        var escaped = false
        while i < count {
            // Skip the bytes that need no attention (not a quote, a backslash, a control character or
            // non-ASCII): sixteen at a time with SSE2, then eight at a time in a word.
            if let base = p.baseAddress {
                skip: do {
                    #if arch(x86_64)
                    while i &+ 16 <= count {
                        let stops = cjsonscan_string_stops16(base + i)
                        if stops != 0 {
                            i &+= stops.trailingZeroBitCount
                            break skip
                        }
                        i &+= 16
                    }
                    #endif
                    while i &+ 8 <= count {
                        let word = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
                        let mask = Scanner.attentionMask(word)
                        if mask != 0 {
                            // The lowest flagged byte is always a real one (borrows only run upwards), and
                            // bytes are little-endian in the word: jump straight to it.
                            i &+= mask.trailingZeroBitCount &>> 3
                            break skip
                        }
                        i &+= 8
                    }
                }
            }
            guard i < count else { break }
            let byte = p[i]
            if byte == UInt8(ascii: "\"") {
                return (i &+ 1, escaped)
            }
            if byte == UInt8(ascii: "\\") {
                escaped = true
                i = try scanEscape(at: i)
                continue
            }
            if byte < 0x20 {
                throw Failure(offset: i, reason: "control character \(describe(byte)) must be escaped in a string")
            }
            if byte < 0x80 {
                i &+= 1
                continue
            }
            i = try scanUTF8(at: i)
        }
        throw Failure(offset: position, reason: "unterminated string")
    }

    /// The high bit of each byte of `word` that is `"`, `\`, below 0x20 or above 0x7F (see `WordBytes`).
    @inline(__always)
    static func attentionMask(_ word: UInt64) -> UInt64 {
        WordBytes.equal(word, UInt8(ascii: "\"")) | WordBytes.equal(word, UInt8(ascii: "\\"))
            | WordBytes.below(word, 0x20) | WordBytes.nonASCII(word)
    }

    /// Validates one escape sequence at a backslash; returns the offset past it.
    func scanEscape(at position: Int) throws(Failure) -> Int {
        let i = position + 1
        guard i < count else { throw Failure(offset: position, reason: "unterminated string") }
        switch p[i] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
             UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            return i + 1
        case UInt8(ascii: "u"):
            let unit = try hex4(at: i + 1)
            if unit >= 0xDC00 && unit <= 0xDFFF {
                throw Failure(offset: position, reason: "unpaired low surrogate \\u\(hexString(unit)) in a string")
            }
            if unit >= 0xD800 && unit <= 0xDBFF {
                let low = i + 5
                guard low + 1 < count, p[low] == UInt8(ascii: "\\"), p[low + 1] == UInt8(ascii: "u") else {
                    throw Failure(offset: position, reason: "unpaired high surrogate \\u\(hexString(unit)) in a string")
                }
                let second = try hex4(at: low + 2)
                guard second >= 0xDC00 && second <= 0xDFFF else {
                    throw Failure(offset: low, reason: "expected a low surrogate after \\u\(hexString(unit))")
                }
                return low + 6
            }
            return i + 5
        default:
            throw Failure(offset: i, reason: "invalid escape \\\(describe(p[i], quoted: false)) in a string")
        }
    }

    func hex4(at position: Int) throws(Failure) -> UInt32 {
        guard position + 4 <= count else { throw Failure(offset: position, reason: "incomplete \\u escape") }
        var value: UInt32 = 0
        for k in 0..<4 {
            guard let digit = hexValue(p[position + k]) else {
                throw Failure(offset: position + k, reason: "invalid hex digit in \\u escape")
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    /// Validates one multi-byte UTF-8 sequence (no overlongs, no surrogates, at most U+10FFFF).
    func scanUTF8(at position: Int) throws(Failure) -> Int {
        let lead = p[position]
        let length: Int
        var lowerBound: UInt8 = 0x80
        var upperBound: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; lowerBound = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; upperBound = 0x9F
        case 0xF0: length = 4; lowerBound = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; upperBound = 0x8F
        default: throw Failure(offset: position, reason: "invalid UTF-8 byte 0x\(hexString(UInt32(lead), width: 2))")
        }
        guard position + length <= count else { throw Failure(offset: position, reason: "truncated UTF-8 sequence") }
        let second = p[position + 1]
        guard second >= lowerBound && second <= upperBound else {
            throw Failure(offset: position + 1, reason: "invalid UTF-8 continuation byte 0x\(hexString(UInt32(second), width: 2))")
        }
        var k = 2
        while k < length {
            let byte = p[position + k]
            guard byte & 0xC0 == 0x80 else {
                throw Failure(offset: position + k, reason: "invalid UTF-8 continuation byte 0x\(hexString(UInt32(byte), width: 2))")
            }
            k += 1
        }
        return position + length
    }
}

/// An offset or a tape index as stored in a node. Both are below `JSONNode.maximumOffset` (checked before
/// parsing; every node takes at least one byte of text), so they fit without a checked conversion.
@inline(__always)
private func narrow(_ value: Int) -> Int32 { Int32(truncatingIfNeeded: value) }

@inline(__always)
private func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }

@inline(__always)
func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
    default: return nil
    }
}

func hexString(_ value: UInt32, width: Int = 4) -> String {
    let digits = String(value, radix: 16, uppercase: true)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}

private func describe(_ byte: UInt8, quoted: Bool = true) -> String {
    if byte >= 0x20 && byte < 0x7F {
        let character = String(UnicodeScalar(byte))
        return quoted ? "'\(character)'" : character
    }
    return "0x\(hexString(UInt32(byte), width: 2))"
}
