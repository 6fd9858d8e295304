/// A cursor on one value of a `JSONDocument`. Cheap to copy; decodes only what is asked for.
public struct JSONValue: Sendable {
    @usableFromInline let document: JSONDocument
    @usableFromInline let index: Int

    @inlinable
    init(document: JSONDocument, index: Int) {
        self.document = document
        self.index = index
    }

    @inlinable
    var node: JSONNode { document.nodes[index] }

    public var isObject: Bool { node.kind == .object }
    public var isArray: Bool { node.kind == .array }
    public var isString: Bool { node.kind == .string }
    public var isNumber: Bool { node.kind == .number }
    public var isBool: Bool { node.kind == .true || node.kind == .false }
    public var isNull: Bool { node.kind == .null }

    /// A short name of the value's type, for error messages.
    public var typeName: String {
        switch node.kind {
        case .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .number: "a number"
        case .true, .false: "a boolean"
        case .null: "null"
        }
    }

    /// Byte offset of the value in the document, for error messages.
    public var offset: Int {
        let n = node
        return n.kind == .string ? Int(n.start) - 1 : Int(n.start)
    }

    /// The member named `key`. With duplicate keys the last one wins, as in Go and Foundation.
    ///
    /// Names match byte for byte after unescaping (RFC 8259 §8.3), as in Go and the apiserver:
    /// no Unicode normalization, so `"\u212Aind"` (KELVIN SIGN) is not `"Kind"` and `"e\u0301"` is not `"é"`.
    public subscript(key: StaticString) -> JSONValue? {
        if key.hasPointerRepresentation {
            return lastMember(named: UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
        }
        return key.withUTF8Buffer { lastMember(named: $0) }
    }

    /// The member named by a run-time `key`; the last duplicate wins. Names match byte for byte,
    /// as in the subscript.
    public func member(_ key: String) -> JSONValue? {
        var key = key
        return key.withUTF8 { lastMember(named: $0) }
    }

    /// The value of the last member whose unescaped name is exactly `key` (UTF-8).
    @inline(__always)
    private func lastMember(named key: UnsafeBufferPointer<UInt8>) -> JSONValue? {
        let n = node
        guard n.kind == .object else { return nil }
        var found: Int?
        let end = Int(n.next)
        document.bytes.withUnsafeBufferPointer { bytes in
            document.nodes.withUnsafeBufferPointer { nodes in
                var i = index + 1
                while i < end {
                    let valueIndex = i + 1
                    if JSONValue.keyEquals(bytes, nodes[i], key) { found = valueIndex }
                    i = Int(nodes[valueIndex].next)
                }
            }
        }
        return found.map { JSONValue(document: document, index: $0) }
    }

    /// Whether the string node `k` unescapes to exactly the bytes `key`. Inlinable: `JSONMemberName`
    /// compares with it in decoders of other modules.
    @inlinable
    static func keyEquals(_ bytes: UnsafeBufferPointer<UInt8>, _ k: JSONNode, _ key: UnsafeBufferPointer<UInt8>) -> Bool {
        let start = Int(k.start)
        let length = Int(k.end) - start
        if !k.escaped {
            guard length == key.count else { return false }
            var j = 0
            while j < length {
                if bytes[start + j] != key[j] { return false }
                j += 1
            }
            return true
        }
        // Unescaping never lengthens a string, so a shorter source cannot match.
        guard key.count <= length else { return false }
        return decodeBytes(bytes, k).elementsEqual(key)
    }

    /// The members of an object in document order, duplicates included.
    public var members: [(key: String, value: JSONValue)] {
        guard node.kind == .object else { return [] }
        var result: [(key: String, value: JSONValue)] = []
        var i = index + 1
        let end = Int(node.next)
        while i < end {
            let key = JSONValue(document: document, index: i).string ?? ""
            result.append((key, JSONValue(document: document, index: i + 1)))
            i = Int(document.nodes[i + 1].next)
        }
        return result
    }

    /// The elements of an array in order.
    public var elements: [JSONValue] {
        guard node.kind == .array else { return [] }
        let end = Int(node.next)
        // Counted first (one load per element), so the array is allocated once instead of regrown.
        var count = 0
        var i = index + 1
        while i < end {
            count += 1
            i = Int(document.nodes[i].next)
        }
        var result: [JSONValue] = []
        result.reserveCapacity(count)
        i = index + 1
        while i < end {
            result.append(JSONValue(document: document, index: i))
            i = Int(document.nodes[i].next)
        }
        return result
    }

    /// The decoded string, or nil if this is not a string.
    public var string: String? {
        let n = node
        guard n.kind == .string else { return nil }
        return document.bytes.withUnsafeBufferPointer { JSONValue.decodeString($0, n) }
    }

    /// The boolean, or nil if this is not a boolean.
    public var bool: Bool? {
        switch node.kind {
        case .true: true
        case .false: false
        default: nil
        }
    }

    /// The number as an integer, or nil if it is not a number or not an integer in range.
    ///
    /// Like Go's `encoding/json` into an `int64`: `1000` is accepted, `1000.0` and `1e3` are not.
    public var int64: Int64? {
        let n = node
        guard n.kind == .number else { return nil }
        return document.bytes.withUnsafeBufferPointer { bytes -> Int64? in
            var i = Int(n.start)
            let end = Int(n.end)
            var negative = false
            if bytes[i] == UInt8(ascii: "-") {
                negative = true
                i += 1
            }
            var magnitude: UInt64 = 0
            while i < end {
                let digit = bytes[i] &- UInt8(ascii: "0")
                guard digit < 10 else { return nil }
                let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times10.addingReportingOverflow(UInt64(digit))
                if overflow1 || overflow2 { return nil }
                magnitude = sum
                i += 1
            }
            if negative {
                if magnitude == UInt64(Int64.max) + 1 { return Int64.min }
                return magnitude <= UInt64(Int64.max) ? -Int64(magnitude) : nil
            }
            return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
        }
    }

    /// The number as a `Double`, or nil if this is not a number.
    public var double: Double? {
        let n = node
        guard n.kind == .number else { return nil }
        return Double(String(decoding: document.bytes[Int(n.start)..<Int(n.end)], as: UTF8.self))
    }

    /// The exact source text of the value, e.g. to copy a sub-object verbatim.
    public var rawBytes: ArraySlice<UInt8> {
        let n = node
        switch n.kind {
        case .string: return document.bytes[(Int(n.start) - 1)..<(Int(n.end) + 1)]
        default: return document.bytes[Int(n.start)..<Int(n.end)]
        }
    }

    static func decodeString(_ bytes: UnsafeBufferPointer<UInt8>, _ n: JSONNode) -> String {
        if !n.escaped {
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[Int(n.start)..<Int(n.end)]), as: UTF8.self)
        }
        return String(decoding: decodeBytes(bytes, n), as: UTF8.self)
    }

    /// The UTF-8 bytes of an escaped string node, unescaped.
    @usableFromInline
    static func decodeBytes(_ bytes: UnsafeBufferPointer<UInt8>, _ n: JSONNode) -> [UInt8] {
        let start = Int(n.start)
        let end = Int(n.end)
        var out: [UInt8] = []
        out.reserveCapacity(end - start)
        var i = start
        // The parser validated every escape, so this loop only decodes.
        while i < end {
            let byte = bytes[i]
            guard byte == UInt8(ascii: "\\") else {
                out.append(byte)
                i += 1
                continue
            }
            let kind = bytes[i + 1]
            i += 2
            switch kind {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hex4(bytes, i)
                i += 4
                if scalar >= 0xD800 && scalar <= 0xDBFF {
                    let low = hex4(bytes, i + 2)
                    i += 6
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                appendUTF8(scalar, to: &out)
            default: out.append(kind)
            }
        }
        return out
    }

    private static func hex4(_ bytes: UnsafeBufferPointer<UInt8>, _ at: Int) -> UInt32 {
        var value: UInt32 = 0
        for k in 0..<4 { value = value << 4 | UInt32(hexValue(bytes[at + k]) ?? 0) }
        return value
    }

    private static func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
        switch scalar {
        case 0..<0x80:
            out.append(UInt8(scalar))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | scalar >> 6))
            out.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | scalar >> 12))
            out.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            out.append(UInt8(0x80 | scalar & 0x3F))
        default:
            out.append(UInt8(0xF0 | scalar >> 18))
            out.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            out.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            out.append(UInt8(0x80 | scalar & 0x3F))
        }
    }
}
