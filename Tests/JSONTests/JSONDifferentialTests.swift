import Foundation
import Testing
import TestSupport
@testable import JSON

// Differential tests: our reader against Foundation's
// `JSONSerialization.jsonObject(with:options: [.fragmentsAllowed])`.
//
// `agree(_:)` parses one input with both. They must agree on accept or reject, and when both
// accept, the value trees must be equal: objects with last-duplicate-wins, arrays in order,
// strings scalar for scalar, numbers by value, booleans apart from numbers, null.
//
// Where the two legitimately differ, the difference is one of the `Divergence` cases below.
// Each is named and documented, has a minimal example, is modelled precisely in `agree` (never
// "anything goes"), and has its own test asserting *our* behaviour. Everything else must agree
// exactly. Each input source prints how often each divergence occurred.

// MARK: - Known divergences from Foundation

/// The ways Foundation's `JSONSerialization` (swift-corelibs-foundation, Linux) legitimately differs
/// from our RFC 8259 reader. Found by these tests; each one is checked by a test below.
enum Divergence: String, CaseIterable, Sendable {
    /// Foundation accepts one trailing comma before `]` or `}`: `[1,]`, `{"a":1,}`.
    /// RFC 8259 forbids it; we reject ("unexpected character ']', expected a value").
    /// Modelled exactly: our error must sit on the bracket right after the comma (whitespace
    /// aside), and deleting that comma must give an input on which both agree, with Foundation's
    /// value unchanged.
    case trailingComma

    /// Foundation guesses UTF-16/UTF-32 from a BOM (`FF FE`, `FE FF`, `00 00 FE FF`) or from NUL
    /// bytes among the first four bytes, and transcodes: `31 00` is UTF-16LE "1" and parses as 1.
    /// RFC 8259 §8.1 requires UTF-8 between systems (and the apiserver only sends UTF-8); we parse
    /// UTF-8 only, where NUL, FE and FF never start a text, so we reject all of these.
    case nonUTF8Encoding

    /// Foundation rejects a number whose value overflows `Double` ("Number 1e400 is not
    /// representable in Swift."). The grammar of RFC 8259 allows it (§6 lets implementations limit
    /// range, §9 lets them accept the text); we accept, `int64` is nil and `double` is ±infinity.
    case numberOutOfDoubleRange

    /// Foundation drops a raw (unescaped) U+FEFF at the start of a string segment, that is right
    /// after the opening quote or right after an escape sequence: it builds strings segment by
    /// segment with `String(bytes:encoding: .utf8)`, which strips a leading byte order mark.
    /// `"\u{FEFF}a"` (raw EF BB BF) is "a" to Foundation. We keep every character, as RFC 8259
    /// requires; an escaped `\uFEFF` is kept by both.
    case byteOrderMarkInString

    /// Foundation stores members in a Swift `Dictionary<String, Any>`, whose keys compare by
    /// Unicode canonical equivalence: `{"K":1,"\u212A":2}` (KELVIN SIGN) or `{"é":1,"e\u0301":2}`
    /// become one member (first key, last value). RFC 8259 §8.3 and Go (hence the apiserver)
    /// compare names code unit by code unit; so do `members`, the subscript and `member(_:)`.
    case canonicallyEquivalentKeys

    /// Foundation returns an `NSDecimalNumber` for a number of more than 17 characters (before
    /// any `e`) whose exponent fits Decimal, and `NSDecimalNumber.doubleValue` is not correctly
    /// rounded: `0.30000000000000004` gives 0.3000000000000001. Our `double` is the correctly
    /// rounded `Double(text)`. Modelled exactly: `Decimal(string: ourText)` must equal Foundation's
    /// decimal, and our double must be `Double(text)`; only the last bits of the double differ.
    case decimalNumberRounding
}

/// What `agree` saw for one input.
struct Agreement: Sendable {
    var bothAccepted = false
    var bothRejected = false
    var divergences: Set<Divergence> = []
}

/// Counts outcomes over many inputs, for the printed summary.
struct Tally: CustomStringConvertible {
    var inputs = 0
    var accepted = 0
    var rejected = 0
    var divergences: [Divergence: Int] = [:]

    mutating func add(_ a: Agreement) {
        inputs += 1
        if a.bothAccepted { accepted += 1 }
        if a.bothRejected { rejected += 1 }
        for d in a.divergences { divergences[d, default: 0] += 1 }
    }

    var description: String {
        let known = Divergence.allCases.compactMap { d in divergences[d].map { "\(d.rawValue)=\($0)" } }
        return "\(inputs) inputs: \(accepted) accepted by both, \(rejected) rejected by both; known divergences: "
            + (known.isEmpty ? "none" : known.joined(separator: ", "))
    }
}

// MARK: - agree

/// Parses `bytes` with our reader and with Foundation and records an issue unless they agree,
/// up to the documented `Divergence`s.
@discardableResult
func agree(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> Agreement {
    var result = Agreement()
    let ours: Result<JSONDocument, JSONParseError> = Result { () throws(JSONParseError) in try JSONDocument(parsing: bytes) }
    let theirs: Result<Any, any Error> = Result { try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]) }

    func fail(_ message: String) {
        Issue.record(Comment(rawValue: "\(message)\n  input: \(Differential.show(bytes))"), sourceLocation: sourceLocation)
    }

    if case .failure(let error) = ours {
        Differential.checkErrorPosition(error, in: bytes, fail: fail)
    }

    // Divergence: Foundation transcodes UTF-16/32. We must reject, whatever Foundation makes of it.
    if Differential.foundationDetectsNonUTF8(bytes) {
        if case .success = ours { fail("accepted a text that Foundation reads as UTF-16/32") }
        if case .success = theirs { result.divergences.insert(.nonUTF8Encoding) } else { result.bothRejected = true }
        return result
    }

    switch (ours, theirs) {
    case (.failure, .failure):
        result.bothRejected = true

    case (.success(let document), .success(let object)):
        result.bothAccepted = true
        let mine = Differential.tree(document.root, fail: fail)
        let foundation = Differential.foundationTree(object)
        Differential.compare(mine, foundation, path: "$", divergences: &result.divergences, fail: fail)
        Differential.checkRoundTrip(document, mine, fail: fail)

    case (.failure(let error), .success(let object)):
        // Divergence: a trailing comma, which Foundation accepts.
        guard let comma = Differential.trailingComma(before: error, in: bytes) else {
            fail("Foundation accepts, we reject: \(error)")
            return result
        }
        result.divergences.insert(.trailingComma)
        var fixed = bytes
        fixed.remove(at: comma)
        let inner = agree(fixed, sourceLocation: sourceLocation)
        result.divergences.formUnion(inner.divergences)
        guard inner.bothAccepted || inner.divergences.contains(.trailingComma) else {
            fail("without the trailing comma at byte \(comma) the two still disagree")
            return result
        }
        if let again = try? JSONSerialization.jsonObject(with: Data(fixed), options: [.fragmentsAllowed]) {
            if !Differential.foundationEqual(Differential.foundationTree(object), Differential.foundationTree(again)) {
                fail("Foundation's value changes when the trailing comma at byte \(comma) is removed")
            }
        } else {
            fail("Foundation rejects the input once the trailing comma at byte \(comma) is removed")
        }

    case (.success(let document), .failure(let error)):
        // Divergence: a number beyond Double's range, which Foundation refuses.
        let message = ((error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String) ?? "\(error)"
        let infinite = Differential.infiniteNumbers(document.root)
        guard infinite.contains(where: { message == "Number \($0.text) is not representable in Swift." }) else {
            fail("we accept, Foundation rejects: \(message)")
            return result
        }
        result.divergences.insert(.numberOutOfDoubleRange)
        // The rest of the text must agree: replace each such number with 0 and compare again.
        var finite = bytes
        for number in infinite.reversed() { finite.replaceSubrange(number.range, with: [UInt8(ascii: "0")]) }
        let inner = agree(finite, sourceLocation: sourceLocation)
        result.divergences.formUnion(inner.divergences)
        if !inner.bothAccepted { fail("with its infinite numbers replaced by 0, the text is not accepted by both") }
    }
    return result
}

// MARK: - Trees and comparison

enum Differential {
    /// Our value, read through the public API only.
    indirect enum Tree {
        case null
        case bool(Bool)
        case number(text: String, double: Double, int64: Int64?)
        /// `raw` is the source between the quotes.
        case string(String, raw: [UInt8])
        case array([Tree])
        case object([(key: String, raw: [UInt8], value: Tree)])
    }

    /// Foundation's value.
    indirect enum FTree {
        case null
        case bool(Bool)
        case number(NSNumber)
        case string(String)
        case array([FTree])
        case object([String: FTree])
    }

    static func tree(_ value: JSONValue, fail: (String) -> Void) -> Tree {
        let kinds = [value.isObject, value.isArray, value.isString, value.isNumber, value.isBool, value.isNull]
        if kinds.filter({ $0 }).count != 1 { fail("value at \(value.offset) has \(kinds.filter { $0 }.count) kinds") }
        let raw = Array(value.rawBytes)
        if value.isObject {
            var members: [(key: String, raw: [UInt8], value: Tree)] = []
            var lastOffset: [[UInt8]: Int] = [:]
            for member in value.members {
                let keyRaw = Array(rawKey(of: member.value))
                members.append((member.key, keyRaw, tree(member.value, fail: fail)))
                lastOffset[Array(member.key.utf8)] = member.value.offset
            }
            // `member(_:)` finds the last member with exactly this name, byte for byte.
            for (key, offset) in lastOffset {
                let name = String(decoding: key, as: UTF8.self)
                if value.member(name)?.offset != offset { fail("member(\(name.debugDescription)) is not the last duplicate at \(offset)") }
            }
            if raw.first != UInt8(ascii: "{") || raw.last != UInt8(ascii: "}") { fail("object rawBytes not delimited at \(value.offset)") }
            return .object(members)
        }
        if value.isArray {
            if raw.first != UInt8(ascii: "[") || raw.last != UInt8(ascii: "]") { fail("array rawBytes not delimited at \(value.offset)") }
            return .array(value.elements.map { tree($0, fail: fail) })
        }
        if let string = value.string {
            guard raw.count >= 2, raw.first == UInt8(ascii: "\""), raw.last == UInt8(ascii: "\"") else {
                fail("string rawBytes not quoted at \(value.offset)")
                return .string(string, raw: [])
            }
            let content = Array(raw.dropFirst().dropLast())
            let expected = referenceDecode(content[...], dropSegmentBOM: false)
            if Array(string.utf8) != expected { fail("string at \(value.offset) decodes to \(string.debugDescription), expected \(String(decoding: expected, as: UTF8.self).debugDescription)") }
            return .string(string, raw: content)
        }
        if value.isNumber {
            let text = String(decoding: raw, as: UTF8.self)
            guard let double = value.double else {
                fail("number \(text) has no double")
                return .null
            }
            // References: the standard library's own (correctly rounded) conversions.
            if double != Double(text)! && !(double.isNaN) { fail("number \(text): double \(double), expected \(Double(text)!)") }
            if value.int64 != Int64(text) { fail("number \(text): int64 \(String(describing: value.int64)), expected \(String(describing: Int64(text)))") }
            return .number(text: text, double: double, int64: value.int64)
        }
        if let bool = value.bool { return .bool(bool) }
        if !value.isNull { fail("value at \(value.offset) is of no kind") }
        return .null
    }

    /// The source of the key before the member value `value`, between the quotes.
    static func rawKey(of value: JSONValue) -> ArraySlice<UInt8> {
        // The key node sits right before its value on the tape.
        let key = JSONValue(document: value.document, index: value.index - 1)
        return key.rawBytes.dropFirst().dropLast()
    }

    nonisolated(unsafe) private static let foundationTrue = try! JSONSerialization.jsonObject(with: Data("true".utf8), options: [.fragmentsAllowed])

    /// Whether `number` is one of Foundation's booleans. On Linux they are `__NSCFBoolean`
    /// instances; take the class from Foundation itself rather than hard-coding it.
    static func isFoundationBool(_ number: NSNumber) -> Bool {
        ObjectIdentifier(type(of: number)) == ObjectIdentifier(type(of: foundationTrue as AnyObject))
    }

    static func foundationTree(_ object: Any) -> FTree {
        switch object {
        case is NSNull: return .null
        case let string as String: return .string(string)
        case let number as NSNumber: return isFoundationBool(number) ? .bool(number.boolValue) : .number(number)
        case let array as [Any]: return .array(array.map(foundationTree))
        case let dictionary as [String: Any]: return .object(dictionary.mapValues(foundationTree))
        default: return .string("<unexpected \(type(of: object))>")
        }
    }

    /// Compares our tree with Foundation's, applying only the documented divergences.
    static func compare(_ mine: Tree, _ theirs: FTree, path: String, divergences: inout Set<Divergence>, fail: (String) -> Void) {
        switch (mine, theirs) {
        case (.null, .null):
            return
        case (.bool(let a), .bool(let b)):
            if a != b { fail("\(path): \(a) vs Foundation's \(b)") }
        case (.number(let text, let double, let int64), .number(let number)):
            if let decimal = number as? NSDecimalNumber {
                if Decimal(string: text) != decimal.decimalValue { fail("\(path): \(text) vs Foundation's decimal \(decimal)") }
                if decimal.doubleValue != double {
                    // Only the rounding of Decimal → Double may differ.
                    if abs(decimal.doubleValue - double) > abs(double) * 1e-14 { fail("\(path): \(text) = \(double) vs Foundation's \(decimal.doubleValue)") }
                    divergences.insert(.decimalNumberRounding)
                }
            } else {
                if number.doubleValue != double { fail("\(path): \(text) = \(double) vs Foundation's \(number)") }
                if let int64, number.int64Value != int64 { fail("\(path): \(text) = \(int64) vs Foundation's \(number.int64Value)") }
                if int64 == nil, let unsigned = UInt64(text), number.uint64Value != unsigned { fail("\(path): \(text) vs Foundation's \(number.uint64Value)") }
            }
        case (.string(let string, let raw), .string(let foundation)):
            let expected = String(decoding: referenceDecode(raw[...], dropSegmentBOM: true), as: UTF8.self)
            if !sameScalars(expected, string) { divergences.insert(.byteOrderMarkInString) }
            if !sameScalars(expected, foundation) { fail("\(path): \(string.debugDescription) vs Foundation's \(foundation.debugDescription)") }
        case (.array(let a), .array(let b)):
            guard a.count == b.count else { return fail("\(path): \(a.count) elements vs Foundation's \(b.count)") }
            for (i, (x, y)) in zip(a, b).enumerated() { compare(x, y, path: "\(path)[\(i)]", divergences: &divergences, fail: fail) }
        case (.object(let members), .object(let dictionary)):
            // Foundation's view of our members: its string decoding of each name, then Swift
            // `Dictionary` semantics (canonical equivalence; first key kept, last value wins).
            var merged: [(key: String, value: Tree)] = []
            var slot: [String: Int] = [:]
            for member in members {
                let name = String(decoding: referenceDecode(member.raw[...], dropSegmentBOM: true), as: UTF8.self)
                if !sameScalars(name, member.key) { divergences.insert(.byteOrderMarkInString) }
                if let i = slot[name] {
                    if !sameScalars(merged[i].key, name) { divergences.insert(.canonicallyEquivalentKeys) }
                    merged[i].value = member.value
                } else {
                    slot[name] = merged.count
                    merged.append((name, member.value))
                }
            }
            guard merged.count == dictionary.count else {
                return fail("\(path): \(merged.count) distinct names vs Foundation's \(dictionary.count)")
            }
            for (key, value) in dictionary {
                guard let i = merged.firstIndex(where: { sameScalars($0.key, key) }) else {
                    return fail("\(path): Foundation has name \(key.debugDescription), we do not")
                }
                compare(merged[i].value, value, path: "\(path).\(key)", divergences: &divergences, fail: fail)
            }
        default:
            fail("\(path): \(mine) vs Foundation's \(theirs)")
        }
    }

    static func sameScalars(_ a: String, _ b: String) -> Bool {
        a.unicodeScalars.elementsEqual(b.unicodeScalars)
    }

    static func foundationEqual(_ a: FTree, _ b: FTree) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case (.bool(let x), .bool(let y)): x == y
        case (.number(let x), .number(let y)): x.isEqual(y)
        case (.string(let x), .string(let y)): sameScalars(x, y)
        case (.array(let x), .array(let y)): x.count == y.count && zip(x, y).allSatisfy(foundationEqual)
        case (.object(let x), .object(let y)):
            x.count == y.count && x.allSatisfy { key, value in y[key].map { foundationEqual(value, $0) } ?? false }
        default: false
        }
    }

    /// An independent decoder for the source of a string our parser accepted (between the quotes).
    /// With `dropSegmentBOM` it models Foundation: one raw U+FEFF at the start of each segment
    /// (after the opening quote, after each escape) is dropped.
    static func referenceDecode(_ raw: ArraySlice<UInt8>, dropSegmentBOM: Bool) -> [UInt8] {
        var out: [UInt8] = []
        var i = raw.startIndex
        var segmentStart = true
        func hex(_ at: Int) -> UInt32 { UInt32(String(decoding: raw[at..<at + 4], as: UTF8.self), radix: 16)! }
        while i < raw.endIndex {
            if dropSegmentBOM, segmentStart, raw[i...].starts(with: [0xEF, 0xBB, 0xBF]) {
                i += 3
            }
            segmentStart = false
            guard i < raw.endIndex else { break }
            guard raw[i] == UInt8(ascii: "\\") else {
                out.append(raw[i])
                i += 1
                continue
            }
            segmentStart = true
            let escape = raw[i + 1]
            i += 2
            switch escape {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var value = hex(i)
                i += 4
                if (0xD800...0xDBFF).contains(value) {
                    value = 0x10000 + (value - 0xD800) << 10 + (hex(i + 2) - 0xDC00)
                    i += 6
                }
                out.append(contentsOf: String(Unicode.Scalar(value)!).utf8)
            default: out.append(escape) // " \ /
            }
        }
        return out
    }

    /// Every number in the document whose `double` is infinite, in document order.
    static func infiniteNumbers(_ value: JSONValue) -> [(text: String, range: Range<Int>)] {
        if value.isObject { return value.members.flatMap { infiniteNumbers($0.value) } }
        if value.isArray { return value.elements.flatMap(infiniteNumbers) }
        if let double = value.double, double.isInfinite {
            return [(String(decoding: value.rawBytes, as: UTF8.self), value.rawBytes.indices)]
        }
        return []
    }

    /// When our error is a closing bracket right after a comma (whitespace aside), the comma's offset.
    static func trailingComma(before error: JSONParseError, in bytes: [UInt8]) -> Int? {
        guard error.reason == "unexpected character ']', expected a value" || error.reason == "unexpected character '}', expected a string key" else { return nil }
        var i = error.offset - 1
        while i >= 0, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i -= 1 }
        return i >= 0 && bytes[i] == UInt8(ascii: ",") ? i : nil
    }

    /// Foundation's encoding sniffing (`JSONSerialization.parseBOM` and `detectEncoding`):
    /// whether it would read `bytes` as anything but UTF-8.
    static func foundationDetectsNonUTF8(_ b: [UInt8]) -> Bool {
        if b.count >= 2 {
            if b[0] == 0xFF && b[1] == 0xFE { return true }
            if b[0] == 0xFE && b[1] == 0xFF { return true }
            if b.count >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF { return false }
        }
        if b.count >= 4 {
            return (b[0] == 0 && b[1] == 0) || (b[1] == 0 && b[2] == 0 && b[3] == 0) || (b[0] == 0 && b[2] == 0) || (b[1] == 0 && b[3] == 0)
        }
        if b.count >= 2 { return b[0] == 0 || b[1] == 0 }
        return false
    }

    /// Every rejection must point inside the text, with line and column matching the offset.
    static func checkErrorPosition(_ error: JSONParseError, in bytes: [UInt8], fail: (String) -> Void) {
        guard error.offset >= 0, error.offset <= bytes.count else { return fail("error offset \(error.offset) outside 0...\(bytes.count)") }
        let before = bytes[..<error.offset]
        let line = before.filter { $0 == 0x0A }.count + 1
        let column = error.offset - ((before.lastIndex(of: 0x0A)).map { $0 + 1 } ?? 0) + 1
        if error.line != line || error.column != column {
            fail("error at byte \(error.offset) reports line \(error.line) column \(error.column), expected \(line):\(column)")
        }
        if error.reason.isEmpty { fail("error without a reason") }
    }

    /// Writes our tree back with `JSONWriter` and checks the output parses to the same tree.
    static func checkRoundTrip(_ document: JSONDocument, _ mine: Tree, fail: (String) -> Void) {
        var writer = JSONWriter()
        write(mine, to: &writer)
        guard let again = try? JSONDocument(parsing: writer.bytes) else {
            return fail("JSONWriter output does not parse: \(show(writer.bytes))")
        }
        var rewritten = JSONWriter()
        write(tree(again.root, fail: fail), to: &rewritten)
        if rewritten.bytes != writer.bytes { fail("JSONWriter round trip changed the value: \(show(writer.bytes)) → \(show(rewritten.bytes))") }
    }

    static func write(_ tree: Tree, to writer: inout JSONWriter) {
        switch tree {
        case .null: writer.null()
        case .bool(let b): writer.bool(b)
        case .number(let text, _, _): writer.raw(text.utf8)
        case .string(let s, _): writer.string(s)
        case .array(let elements):
            writer.beginArray()
            for e in elements { write(e, to: &writer) }
            writer.endArray()
        case .object(let members):
            writer.beginObject()
            for m in members {
                writer.key(m.key)
                write(m.value, to: &writer)
            }
            writer.endObject()
        }
    }

    /// A printable form of an input for failure messages.
    static func show(_ bytes: [UInt8]) -> String {
        let text = bytes.prefix(300).map { b -> String in
            b >= 0x20 && b < 0x7F && b != 0x5C ? String(UnicodeScalar(b)) : "\\x" + String(b, radix: 16, uppercase: true).leftPadded(2)
        }.joined()
        return "\(bytes.count) bytes: " + text + (bytes.count > 300 ? "…" : "")
    }

    /// Removes whitespace outside strings, byte by byte (independent of both parsers).
    static func compacted(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var inString = false
        var escaped = false
        for b in bytes {
            if inString {
                out.append(b)
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
            } else if b == UInt8(ascii: "\"") {
                inString = true
                out.append(b)
            } else if ![0x20, 0x09, 0x0A, 0x0D].contains(b) {
                out.append(b)
            }
        }
        return out
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

// MARK: - Deterministic generation

extension SplitMix64 {
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
}

/// Generates JSON texts as bytes, with the spelling chosen freely: whitespace, escapes (every
/// kind, either hex case), raw UTF-8 of every length, numbers of every shape, duplicate and
/// look-alike names, and nesting.
struct JSONGenerator {
    var rng: SplitMix64
    var out: [UInt8] = []

    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    mutating func document(maxDepth: Int = 5) -> [UInt8] {
        out = []
        space()
        value(depth: 0, maxDepth: maxDepth)
        space()
        return out
    }

    mutating func space() {
        guard rng.chance(30) else { return }
        for _ in 0...rng.below(3) { out.append(rng.pick([0x20, 0x20, 0x0A, 0x09, 0x0D])) }
    }

    mutating func emit(_ s: String) { out.append(contentsOf: s.utf8) }

    mutating func value(depth: Int, maxDepth: Int) {
        let roll = depth >= maxDepth ? 2 + rng.below(8) : rng.below(10)
        switch roll {
        case 0: object(depth: depth, maxDepth: maxDepth)
        case 1: array(depth: depth, maxDepth: maxDepth)
        case 2, 3, 4: string()
        case 5, 6, 7: number()
        default: emit(rng.pick(["true", "false", "null"]))
        }
    }

    mutating func object(depth: Int, maxDepth: Int) {
        out.append(UInt8(ascii: "{"))
        space()
        let count = rng.below(6)
        for i in 0..<count {
            if i > 0 { out.append(UInt8(ascii: ",")); space() }
            key()
            space()
            out.append(UInt8(ascii: ":"))
            space()
            value(depth: depth + 1, maxDepth: maxDepth)
            space()
        }
        out.append(UInt8(ascii: "}"))
    }

    mutating func array(depth: Int, maxDepth: Int) {
        out.append(UInt8(ascii: "["))
        space()
        let count = rng.below(6)
        for i in 0..<count {
            if i > 0 { out.append(UInt8(ascii: ",")); space() }
            value(depth: depth + 1, maxDepth: maxDepth)
            space()
        }
        out.append(UInt8(ascii: "]"))
    }

    /// Names drawn mostly from a small pool, so duplicates are common, including names that
    /// differ only in escaping or are canonically equivalent.
    mutating func key() {
        guard rng.chance(70) else { return string() }
        emit(rng.pick([
            #""a""#, #""b""#, #""\u0061""#, #""image""#, #""\u0069mage""#, #""im\u0061ge""#,
            #""K""#, #""\u212A""#, "\"\u{212A}\"", #""é""#, #""\u00e9""#, #""e\u0301""#, "\"e\u{301}\"",
            #""""#, "\"\u{FEFF}x\"", #""\uFEFFx""#, #""x""#, #""runAsNonRoot""#, #""\ud83d\ude00""#, "\"😀\"",
        ]))
    }

    mutating func string() {
        out.append(UInt8(ascii: "\""))
        for _ in 0..<rng.below(8) { stringPiece() }
        out.append(UInt8(ascii: "\""))
    }

    mutating func hex4(_ value: UInt32) {
        let digits = String(value, radix: 16, uppercase: rng.chance(50)).leftPadded(4)
        emit("\\u" + digits)
    }

    mutating func stringPiece() {
        switch rng.below(12) {
        case 0, 1, 2:
            // Printable ASCII other than quote and backslash, including DEL.
            for _ in 0...rng.below(6) {
                var b = UInt8(0x20 + rng.below(0x60))
                if b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") { b = UInt8(ascii: "z") }
                out.append(b)
            }
        case 3:
            emit(rng.pick([#"\""#, #"\\"#, #"\/"#, #"\b"#, #"\f"#, #"\n"#, #"\r"#, #"\t"#]))
        case 4:
            // A \u escape of a BMP scalar: controls, ASCII, or anything but surrogates.
            var v = UInt32(rng.below(0x10000))
            if rng.chance(30) { v = UInt32(rng.below(0x20)) } else if rng.chance(30) { v = UInt32(rng.below(0x80)) }
            if (0xD800...0xDFFF).contains(v) { v = 0xFEFF }
            hex4(v)
        case 5:
            // A surrogate pair.
            let scalar = UInt32(0x10000 + rng.below(0x100000))
            hex4(0xD800 + ((scalar - 0x10000) >> 10))
            hex4(0xDC00 + ((scalar - 0x10000) & 0x3FF))
        case 6:
            // Raw UTF-8, 2 bytes.
            emit(String(Unicode.Scalar(UInt32(0x80 + rng.below(0x780)))!))
        case 7:
            // Raw UTF-8, 3 bytes (no surrogates), with the notable ones often.
            let notable: [UInt32] = [0x2028, 0x2029, 0xFEFF, 0xFFFE, 0xFFFF, 0x0301, 0x212A, 0x20AC]
            var v = rng.chance(40) ? rng.pick(notable) : UInt32(0x800 + rng.below(0xF800))
            if (0xD800...0xDFFF).contains(v) { v = 0xE000 }
            emit(String(Unicode.Scalar(v)!))
        case 8:
            // Raw UTF-8, 4 bytes.
            emit(String(Unicode.Scalar(UInt32(0x10000 + rng.below(0x100000)))!))
        case 9:
            emit(rng.pick(["😀", "e\u{301}", "\u{7F}", "\u{10FFFF}", "\u{FEFF}"]))
        case 10:
            // An escape followed by a raw byte order mark (Foundation drops that BOM).
            emit(rng.pick([#"\n"#, #"\u0041"#, #"\ud83d\ude00"#]) + "\u{FEFF}")
        default:
            emit(rng.pick(["a", "image", "nginx:1.25", "K", "\u{212A}", "é"]))
        }
    }

    mutating func digits(_ count: Int, leadingNonZero: Bool) -> String {
        var s = ""
        for i in 0..<count { s += String(i == 0 && leadingNonZero ? 1 + rng.below(9) : rng.below(10)) }
        return s
    }

    mutating func number() {
        var s = rng.chance(30) ? "-" : ""
        switch rng.below(10) {
        case 0: s += "0"
        case 1: s = rng.pick(["9223372036854775807", "-9223372036854775808", "9223372036854775808", "-9223372036854775809", "18446744073709551615", "18446744073709551616", "9007199254740993"])
        case 2: s += digits(18 + rng.below(30), leadingNonZero: true)
        default: s += digits(1 + rng.below(rng.chance(50) ? 3 : 19), leadingNonZero: true)
        }
        if rng.chance(35) { s += "." + digits(1 + rng.below(rng.chance(20) ? 30 : 6), leadingNonZero: false) }
        if rng.chance(30) {
            s += rng.pick(["e", "E"]) + rng.pick(["", "+", "-"])
            s += rng.chance(5) ? rng.pick(["400", "309", "308", "330", "0400"]) : digits(1 + rng.below(3), leadingNonZero: false)
        }
        emit(s)
    }
}

/// Mutations of valid texts: byte flips, insertions of structural and high bytes, deletions,
/// truncations and duplications.
struct Mutator {
    var rng: SplitMix64

    mutating func mutate(_ input: [UInt8]) -> [UInt8] {
        var bytes = input
        for _ in 0...rng.below(3) {
            let position = rng.below(bytes.count + 1)
            switch rng.below(8) {
            case 0: // replace a byte
                if position < bytes.count { bytes[position] = UInt8(truncatingIfNeeded: rng.next()) }
            case 1: // flip one bit
                if position < bytes.count { bytes[position] ^= 1 << UInt8(rng.below(8)) }
            case 2, 3: // insert a structural byte
                bytes.insert(rng.pick(Array(",]}\"\\[{: 0-.e".utf8)), at: position)
            case 4: // insert a high byte
                bytes.insert(UInt8(0x80 + rng.below(0x80)), at: position)
            case 5: // truncate
                bytes.removeSubrange(position...)
            case 6: // delete a byte
                if position < bytes.count { bytes.remove(at: position) }
            default: // duplicate a short run
                let end = min(bytes.count, position + 1 + rng.below(16))
                bytes.insert(contentsOf: bytes[position..<end], at: rng.below(bytes.count + 1))
            }
        }
        return bytes
    }
}

// MARK: - Conformance data

enum ConformanceData {
    /// Every regular file under `recorded-reviews`, sorted by path.
    /// nil when the data is missing locally (a printed note); throws when it is missing under `CI=true`.
    static func recordedReviews() throws -> [(name: String, bytes: [UInt8])]? {
        guard let root = try TestPaths.conformanceData()?.appendingPathComponent("recorded-reviews") else { return nil }
        guard let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) else { return [] }
        return enumerator.compactMap { $0 as? URL }
            .filter { (try? $0.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true }
            .sorted { $0.path < $1.path }
            .compactMap { url in (try? Data(contentsOf: url)).map { (url.path.replacingOccurrences(of: root.path + "/", with: ""), [UInt8]($0)) } }
    }
}

// MARK: - Tests

@Suite("JSON reader vs Foundation")
struct JSONDifferentialTests {
    @Test("recorded AdmissionReviews and their compacted forms", .needsConformanceData)
    func conformanceData() throws {
        guard let files = try ConformanceData.recordedReviews() else { return }
        #expect(files.count >= 27, "expected the 26 recorded reviews and SOURCE.md")
        var tally = Tally()
        for (name, bytes) in files {
            let outcome = agree(bytes)
            tally.add(outcome)
            if name.hasSuffix(".json") {
                #expect(outcome.bothAccepted, "\(name) should be valid JSON")
                let compact = Differential.compacted(bytes)
                tally.add(agree(compact))
                // Whitespace is insignificant: the compacted text holds the same values.
                if let a = try? JSONDocument(parsing: bytes), let b = try? JSONDocument(parsing: compact) {
                    var x = JSONWriter(), y = JSONWriter()
                    Differential.write(Differential.tree(a.root) { Issue.record("\($0)") }, to: &x)
                    Differential.write(Differential.tree(b.root) { Issue.record("\($0)") }, to: &y)
                    #expect(x.bytes == y.bytes, "\(name): compacted form differs")
                    #expect(y.bytes == compact, "\(name): JSONWriter should reproduce the compacted text byte for byte")
                }
            } else {
                #expect(outcome.bothRejected, "\(name) is not JSON")
            }
        }
        print("conformance: \(tally)")
        #expect(tally.divergences.isEmpty, "the recorded reviews should need no divergence")
    }

    @Test("mutations of the recorded AdmissionReviews", .needsConformanceData)
    func conformanceMutations() throws {
        guard let files = try ConformanceData.recordedReviews() else { return }
        let seeds = files.filter { $0.name.hasSuffix(".json") }.flatMap { [$0.bytes, Differential.compacted($0.bytes)] }
        var mutator = Mutator(rng: SplitMix64(seed: 0xC0FFEE))
        var tally = Tally()
        for i in 0..<5_200 {
            tally.add(agree(mutator.mutate(seeds[i % seeds.count])))
        }
        print("conformance mutations: \(tally)")
        #expect(tally.inputs == 5_200)
    }

    @Test("generated documents")
    func generated() {
        var generator = JSONGenerator(seed: 20_251_129)
        var tally = Tally()
        for i in 0..<6_000 {
            tally.add(agree(generator.document(maxDepth: i % 7)))
        }
        print("generated: \(tally)")
        // The generator only writes valid JSON; all of it must be accepted by us.
        #expect(tally.accepted + (tally.divergences[.numberOutOfDoubleRange] ?? 0) == tally.inputs)
        // And it reaches every spelling that matters.
        for d in [Divergence.byteOrderMarkInString, .canonicallyEquivalentKeys, .numberOutOfDoubleRange, .decimalNumberRounding] {
            #expect(tally.divergences[d] != nil, "the generator never produced \(d)")
        }
    }

    @Test("mutations of generated documents")
    func generatedMutations() {
        var generator = JSONGenerator(seed: 7)
        var mutator = Mutator(rng: SplitMix64(seed: 8))
        var tally = Tally()
        for i in 0..<20_000 {
            let seed = generator.document(maxDepth: 1 + i % 4)
            tally.add(agree(mutator.mutate(seed)))
        }
        print("generated mutations: \(tally)")
        #expect(tally.accepted > 1_000, "mutations should not all be rejected")
        #expect(tally.rejected > 10_000, "mutations should mostly break the text")
    }

    @Test("short texts over the JSON alphabet, exhaustively up to 3 bytes")
    func shortTexts() {
        let alphabet = Array("{}[]\":,0-1.eE+tfn\\u \n".utf8) + [0x00, 0x1F, 0x7F, 0xC3, 0xA9, 0xEF, 0xBB, 0xBF, 0xFF]
        var tally = Tally()
        tally.add(agree([]))
        for a in alphabet {
            tally.add(agree([a]))
            for b in alphabet {
                tally.add(agree([a, b]))
                for c in alphabet { tally.add(agree([a, b, c])) }
            }
        }
        print("short texts: \(tally)")
    }

    @Test("UTF-8 inside strings: every lead and second byte, and every later byte of valid prefixes")
    func utf8Sequences() {
        var tally = Tally()
        var valid = 0
        // A second oracle: the standard library's UTF-8 validation. Inside quotes, a text is JSON
        // when it is valid UTF-8 without control characters, quotes or backslashes.
        func check(_ middle: [UInt8]) {
            let outcome = agree([0x22] + middle + [0x22])
            tally.add(outcome)
            let expected = String(validating: middle, as: UTF8.self) != nil && !middle.contains { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }
            if expected { valid += 1 }
            #expect(outcome.bothAccepted == expected, "\(Differential.show(middle))")
        }
        // Every (lead, second) pair, followed by as many continuation bytes as the lead asks for.
        for lead in 0x80...0xFF {
            let tail: [UInt8] = lead >= 0xF0 ? [0x80, 0x80] : lead >= 0xE0 ? [0x80] : []
            for second in 0x00...0xFF {
                check([UInt8(lead), UInt8(second)] + tail)
            }
        }
        // For each lead of 3 and 4 bytes, with a valid second byte, every third byte, then every fourth.
        let validSecond: [UInt8: UInt8] = [0xE0: 0xA0, 0xED: 0x9F, 0xF0: 0x90, 0xF4: 0x8F]
        for lead in 0xE0...0xF4 {
            let second = validSecond[UInt8(lead)] ?? 0x80
            for byte in 0x00...0xFF {
                check([UInt8(lead), second, UInt8(byte)] + (lead >= 0xF0 ? [0x80] : []))
                if lead >= 0xF0 { check([UInt8(lead), second, 0xBF, UInt8(byte)]) }
            }
        }
        print("UTF-8 sequences: \(tally)")
        #expect(valid > 3_000)
    }

    /// The string scan skips sixteen bytes at a time (SSE2), then eight (a word), then one: a stop byte must be
    /// found wherever it falls in those windows, and a window must never reach past the text.
    @Test("a stop byte at every offset of strings up to 40 bytes, at every alignment, ending the text or not")
    func stopBytesAtEveryOffset() {
        // Each stop, and whether a string holding it (once, in printable ASCII) is valid JSON.
        let stops: [(bytes: [UInt8], valid: Bool)] = [
            ([0x22], false), ([0x5C, 0x6E], true), ([0x5C, 0x75, 0x30, 0x30, 0x34, 0x31], true), ([0x5C, 0x78], false),
            ([0x00], false), ([0x1F], false), ([0x20], true), ([0x7F], true), ([0xC3, 0xA9], true), ([0x80], false), ([0xFF], false),
        ]
        var tally = Tally()
        var valid = 0
        for padding in [0, 1, 7, 8, 9, 15] {
            for length in 0...40 {
                let filler = (0..<length).map { UInt8(ascii: "a") + UInt8($0 % 26) }
                for ending in [[], Array(#", 1]"#.utf8)] {
                    let open = [UInt8](repeating: 0x20, count: padding) + (ending.isEmpty ? [] : [UInt8(ascii: "[")]) + [0x22]
                    let plain = agree(open + filler + [0x22] + ending)
                    tally.add(plain)
                    #expect(plain.bothAccepted, "\(length) bytes after \(padding)")
                    for position in 0..<max(length, 1) {
                        for stop in stops {
                            let content = Array(filler.prefix(position)) + stop.bytes + Array(filler.dropFirst(position))
                            let outcome = agree(open + content + [0x22] + ending)
                            tally.add(outcome)
                            if stop.valid { valid += 1 }
                            #expect(outcome.bothAccepted == stop.valid, "\(Differential.show(stop.bytes)) at \(position) of \(length), after \(padding)")
                        }
                    }
                }
            }
        }
        print("stop bytes: \(tally)")
        #expect(valid > 20_000)
    }

    @Test("nesting around the depth limit of 512")
    func depth() {
        for depth in [1, 2, 100, 511, 512, 513, 514, 1_000] {
            let arrays = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
            let objects = String(repeating: #"{"a":"#, count: depth) + "0" + String(repeating: "}", count: depth)
            let mixed = String(repeating: #"[{"k" : "#, count: depth / 2) + "[]" + String(repeating: "}]", count: depth / 2)
            for text in [arrays, objects, mixed] {
                let outcome = agree(Array(text.utf8))
                let levels = text.prefix { $0 != "0" && $0 != "]" }.filter { $0 == "[" || $0 == "{" }.count
                #expect(outcome.bothAccepted == (levels <= 512), "depth \(levels)")
            }
        }
        // Unclosed: both stop at the limit without exhausting the stack.
        agree([UInt8](repeating: UInt8(ascii: "["), count: 100_000))
    }

    @Test("hand-picked edge cases")
    func edgeCases() {
        let texts: [String] = [
            "0", "-0", "-0.0", "0e0", "0E+0", "1e-400", "1e400", "-1e400", "1.7976931348623157e308", "1.7976931348623159e308",
            "4.9e-324", "2.4e-324", "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
            "18446744073709551615", "18446744073709551616", "0.30000000000000004", "123456789012345678901234567890",
            "12345678901234567890E400", "1E400", "01", "-01", "00", "1.", ".1", "1.e1", "1e", "1e+", "-", "+1", "- 1", "1 2",
            #""""#, #""\u0000""#, #""\uD834\uDD1E""#, #""\ud800""#, #""\udc00""#, #""\ud800\ud800""#, #""\ud800x""#, "\"\u{FEFF}\"",
            #"{"a":1,"a":2}"#, #"{"a":1,"\u0061":2}"#, #"{"K":1,"\u212A":2}"#, #"{"é":1,"e\u0301":2}"#, #"{"\u00e9":1,"é":2}"#,
            "[1,]", "[1 ,\n]", "{\"a\":1,}", "[,]", "[,1]", "[1,,]", "{,}", "[1,2,]", "[[],]", #"{"a":[1,],}"#,
            "\u{FEFF}{}", "\u{FEFF}", " \u{FEFF}1", "[]\u{FEFF}", "true", "false", "null", "nul", "truee", "True", "[true false]",
            "\t\r\n 1 \t\r\n", "\u{0B}1", "\u{0C}1", "\u{A0}1", "1\u{0}", "[1]\u{0}", "\u{0}",
        ]
        var tally = Tally()
        for text in texts { tally.add(agree(Array(text.utf8))) }
        let bytes: [[UInt8]] = [
            [0x31, 0x00], [0x00, 0x31], [0xFF, 0xFE, 0x31, 0x00], [0xFE, 0xFF, 0x00, 0x31], [0x5B, 0x00, 0x5D, 0x00],
            [0x22, 0xC0, 0x80, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], [0x22, 0xE2, 0x82, 0x22],
            [0x22, 0x80, 0x22], [0x22, 0xF5, 0x80, 0x80, 0x80, 0x22], [0x22, 0xEF, 0xBF, 0xBF, 0x22], [0x22, 0xEF, 0xBB, 0xBF, 0xEF, 0xBB, 0xBF, 0x22],
        ]
        for b in bytes { tally.add(agree(b)) }
        print("edge cases: \(tally)")
    }
}

// MARK: - Each divergence, with our behaviour asserted

@Suite("Known divergences from Foundation")
struct JSONDivergenceTests {
    func foundation(_ bytes: [UInt8]) -> Any? {
        try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
    }

    @Test func trailingComma() throws {
        for (text, offset, reason) in [
            ("[1,]", 3, "unexpected character ']', expected a value"),
            (#"{"a":1,}"#, 7, "unexpected character '}', expected a string key"),
        ] {
            #expect(throws: JSONParseError(offset: offset, line: 1, column: offset + 1, reason: reason)) { try JSONDocument(parsing: text) }
            #expect(foundation(Array(text.utf8)) != nil, "Foundation accepts \(text)")
            #expect(agree(Array(text.utf8)).divergences == [.trailingComma])
        }
    }

    @Test func nonUTF8Encoding() {
        // "1" in UTF-16LE, and "[]" in UTF-16BE with a BOM.
        for bytes: [UInt8] in [[0x31, 0x00], [0xFE, 0xFF, 0x00, 0x5B, 0x00, 0x5D]] {
            #expect(throws: JSONParseError.self) { try JSONDocument(parsing: bytes) }
            #expect(foundation(bytes) != nil)
            #expect(agree(bytes).divergences == [.nonUTF8Encoding])
        }
    }

    @Test func numberOutOfDoubleRange() throws {
        for text in ["1e400", "-1E400", "[1.7976931348623159e308]"] {
            let document = try JSONDocument(parsing: text)
            let number = document.root.isArray ? document.root.elements[0] : document.root
            #expect(number.isNumber)
            #expect(number.int64 == nil)
            #expect(number.double?.isInfinite == true)
            #expect(foundation(Array(text.utf8)) == nil)
            #expect(agree(Array(text.utf8)).divergences == [.numberOutOfDoubleRange])
        }
    }

    @Test func byteOrderMarkInString() throws {
        let text = "[\"\u{FEFF}a\", \"\\n\u{FEFF}b\", \"\\uFEFFc\"]"
        let elements = try JSONDocument(parsing: text).root.elements
        #expect(elements.map { Array($0.string!.unicodeScalars) } == [["\u{FEFF}", "a"], ["\n", "\u{FEFF}", "b"], ["\u{FEFF}", "c"]])
        #expect(agree(Array(text.utf8)).divergences == [.byteOrderMarkInString])
    }

    @Test func canonicallyEquivalentKeys() throws {
        let text = #"{"K":1,"\u212A":2,"é":3,"e\u0301":4}"#
        let root = try JSONDocument(parsing: text).root
        #expect(root.members.map(\.key.unicodeScalars.first!.value) == [0x4B, 0x212A, 0xE9, 0x65])
        #expect(root["K"]?.int64 == 1)
        #expect(root.member("\u{212A}")?.int64 == 2)
        #expect(root["é"]?.int64 == 3)
        #expect(root.member("e\u{301}")?.int64 == 4)
        #expect((foundation(Array(text.utf8)) as? [String: Any])?.count == 2)
        #expect(agree(Array(text.utf8)).divergences == [.canonicallyEquivalentKeys])
    }

    @Test func decimalNumberRounding() throws {
        let text = "0.30000000000000004"
        #expect(try JSONDocument(parsing: text).root.double == 0.30000000000000004)
        #expect(agree(Array(text.utf8)).divergences == [.decimalNumberRounding])
    }
}
