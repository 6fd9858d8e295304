/// Appends compact JSON to a byte buffer. Keys are written in the order given, so output is
/// byte-for-byte stable: the server and `replay` produce identical responses.
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8]
    /// For each open container, innermost in bit 0: whether the next value needs a comma before it.
    /// A bit stack rather than an array: a log line or a response opens a few containers, and an
    /// array would be allocated and checked for uniqueness on every value.
    private var commaBits: UInt64 = 0
    /// Open containers; those deeper than 64 keep their bits in `deeperBits`.
    private var depth = 0
    private var deeperBits: [UInt64] = []

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        push()
    }

    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        pop()
    }

    public mutating func beginArray() {
        separate()
        bytes.append(UInt8(ascii: "["))
        push()
    }

    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        pop()
    }

    /// Writes `"key":`; the next value call writes the value.
    public mutating func key(_ key: String) {
        separate()
        JSONWriter.appendQuoted(key, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        // The value that follows must not add another comma.
        commaBits &= ~1
    }

    /// Writes `"key":` for a key that needs no escaping (no quote, backslash or control character), in
    /// a few appends rather than a scan: for keys written on every request.
    public mutating func key(unescaped key: StaticString) {
        assert(key.withUTF8Buffer { !$0.contains(where: JSONWriter.needsEscape) }, "JSONWriter: key \(key) needs escaping")
        separate()
        bytes.append(UInt8(ascii: "\""))
        key.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        commaBits &= ~1
    }

    public mutating func string(_ value: String) {
        separate()
        JSONWriter.appendQuoted(value, to: &bytes)
    }

    public mutating func bool(_ value: Bool) {
        separate()
        bytes.append(contentsOf: value ? Array("true".utf8) : Array("false".utf8))
    }

    public mutating func int(_ value: Int) {
        separate()
        bytes.append(contentsOf: String(value).utf8)
    }

    public mutating func null() {
        separate()
        bytes.append(contentsOf: "null".utf8)
    }

    /// Inserts already-encoded JSON as the next value.
    public mutating func raw<Bytes: Sequence>(_ json: Bytes) where Bytes.Element == UInt8 {
        separate()
        bytes.append(contentsOf: json)
    }

    private mutating func separate() {
        guard depth > 0 else { return }
        if commaBits & 1 != 0 {
            bytes.append(UInt8(ascii: ","))
        } else {
            commaBits |= 1
        }
    }

    private mutating func push() {
        if depth >= 64 { deeperBits.append(commaBits >> 63) }
        commaBits <<= 1
        depth += 1
    }

    private mutating func pop() {
        precondition(depth > 0, "JSONWriter: a container closed that was not opened")
        commaBits >>= 1
        depth -= 1
        if depth >= 64, let bit = deeperBits.popLast() { commaBits |= bit << 63 }
    }

    /// Non-zero when some byte of `word` is a quote, a backslash, below 0x20 or 0x7F: the bytes
    /// `appendQuoted` escapes. Bytes at 0x80 and above never count: UTF-8 is copied as is.
    @inline(__always)
    static func needsEscape(_ word: UInt64) -> UInt64 {
        WordBytes.equal(word, UInt8(ascii: "\"")) | WordBytes.equal(word, UInt8(ascii: "\\"))
            | WordBytes.equal(word, 0x7F) | WordBytes.below(word, 0x20)
    }

    /// Whether `appendQuoted` escapes `byte`: a quote, a backslash, below 0x20 or 0x7F.
    @inline(__always)
    static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte == 0x7F
    }

    /// Appends `value` as a JSON string: quotes, backslashes and control characters are escaped.
    public static func appendQuoted(_ value: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { utf8 in
            // Runs that need no escape are copied in one append each: most strings are one run, and a
            // denial's message has a few quotes. Eight bytes at a time while none needs escaping.
            var start = 0
            var position = 0
            while position < utf8.count {
                if let base = utf8.baseAddress {
                    while position + 8 <= utf8.count, JSONWriter.needsEscape(UnsafeRawPointer(base + position).loadUnaligned(as: UInt64.self)) == 0 {
                        position += 8
                    }
                }
                while position < utf8.count, !JSONWriter.needsEscape(utf8[position]) { position += 1 }
                guard position < utf8.count else { break }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<position]))
                appendEscape(utf8[position], to: &bytes)
                position += 1
                start = position
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<utf8.count]))
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// The escape of one byte `needsEscape` flags.
    private static func appendEscape(_ byte: UInt8, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\\"))
        switch byte {
        case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\""))
        case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\"))
        case 0x0A: bytes.append(UInt8(ascii: "n"))
        case 0x0D: bytes.append(UInt8(ascii: "r"))
        case 0x09: bytes.append(UInt8(ascii: "t"))
        default:
            let hexDigits: StaticString = "0123456789abcdef"
            bytes.append(contentsOf: "u00".utf8)
            hexDigits.withUTF8Buffer { digits in
                bytes.append(digits[Int(byte >> 4)])
                bytes.append(digits[Int(byte & 0xF)])
            }
        }
    }
}
