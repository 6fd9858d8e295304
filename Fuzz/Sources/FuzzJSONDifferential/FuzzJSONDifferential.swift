// The project's JSON reader (JSONDocument) against Foundation's JSONSerialization with
// .fragmentsAllowed. They must agree on accept or reject and on every value, apart from the six
// divergences documented in Tests/JSONTests/JSONDifferentialTests.swift, which are skipped
// exactly as `agree` there models them. Any other disagreement traps.
//
// `agree` below is a port of that test's `agree` and `Differential` helpers, with `Issue.record`
// replaced by a trap and the one internal accessor it used (`rawKey(of:)`, the tape index) replaced by
// a scan of the document bytes through the public API. Keep the two in step.
import Foundation
import FuzzSupport
import JSON

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = fuzzInput(data, size)
    let outcome = agree(bytes)
    Statistics.shared.add(outcome)
    return 0
}

// MARK: - Known divergences (the test file's `Divergence`, documented there)

enum Divergence: String, CaseIterable {
    case trailingComma
    case nonUTF8Encoding
    case numberOutOfDoubleRange
    case byteOrderMarkInString
    case canonicallyEquivalentKeys
    case decimalNumberRounding
}

struct Agreement {
    var bothAccepted = false
    var bothRejected = false
    var divergences: Set<Divergence> = []
}

/// With FUZZ_STATS=1 in the environment, prints at exit how often each outcome occurred.
final class Statistics {
    nonisolated(unsafe) static let shared = Statistics()
    var inputs = 0, accepted = 0, rejected = 0
    var divergences: [Divergence: Int] = [:]

    init() {
        if ProcessInfo.processInfo.environment["FUZZ_STATS"] == "1" {
            atexit { Statistics.shared.report() }
        }
    }

    func add(_ a: Agreement) {
        inputs += 1
        if a.bothAccepted { accepted += 1 }
        if a.bothRejected { rejected += 1 }
        for d in a.divergences { divergences[d, default: 0] += 1 }
    }

    func report() {
        let known = Divergence.allCases.compactMap { d in divergences[d].map { "\(d.rawValue)=\($0)" } }
        print("FuzzJSONDifferential: \(inputs) inputs: \(accepted) accepted by both, \(rejected) rejected by both; known divergences: \(known.isEmpty ? "none" : known.joined(separator: ", "))")
    }
}

// MARK: - agree

func agree(_ bytes: [UInt8]) -> Agreement {
    var result = Agreement()
    let ours: Result<JSONDocument, JSONParseError> = Result { () throws(JSONParseError) in try JSONDocument(parsing: bytes) }
    let theirs: Result<Any, any Error> = Result { try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]) }

    func fail(_ message: String) -> Never {
        fatalError("JSON reader and Foundation disagree: \(message)\n  input: \(show(bytes))")
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
        let mine = Differential.tree(document.root, in: document.bytes, fail: fail)
        let foundation = Differential.foundationTree(object)
        Differential.compare(mine, foundation, path: "$", divergences: &result.divergences, fail: fail)
        Differential.checkRoundTrip(document, mine, fail: fail)

    case (.failure(let error), .success(let object)):
        // Divergence: a trailing comma, which Foundation accepts.
        guard let comma = Differential.trailingComma(before: error, in: bytes) else {
            fail("Foundation accepts, we reject: \(error)")
        }
        result.divergences.insert(.trailingComma)
        var fixed = bytes
        fixed.remove(at: comma)
        let inner = agree(fixed)
        result.divergences.formUnion(inner.divergences)
        guard inner.bothAccepted || inner.divergences.contains(.trailingComma) else {
            fail("without the trailing comma at byte \(comma) the two still disagree")
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
        }
        result.divergences.insert(.numberOutOfDoubleRange)
        // The rest of the text must agree: replace each such number with 0 and compare again.
        var finite = bytes
        for number in infinite.reversed() { finite.replaceSubrange(number.range, with: [UInt8(ascii: "0")]) }
        let inner = agree(finite)
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

    static func tree(_ value: JSONValue, in bytes: [UInt8], fail: (String) -> Never) -> Tree {
        let kinds = [value.isObject, value.isArray, value.isString, value.isNumber, value.isBool, value.isNull]
        if kinds.filter({ $0 }).count != 1 { fail("value at \(value.offset) has \(kinds.filter { $0 }.count) kinds") }
        let raw = Array(value.rawBytes)
        if value.isObject {
            var members: [(key: String, raw: [UInt8], value: Tree)] = []
            var lastOffset: [[UInt8]: Int] = [:]
            // The end of the previous member's value: the key of the next one follows it.
            var previousEnd = value.offset + 1
            for (position, member) in value.members.enumerated() {
                let keyRaw = rawKey(in: bytes, after: previousEnd, first: position == 0, valueOffset: member.value.offset, fail: fail)
                members.append((member.key, keyRaw, tree(member.value, in: bytes, fail: fail)))
                lastOffset[Array(member.key.utf8)] = member.value.offset
                previousEnd = member.value.offset + member.value.rawBytes.count
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
            return .array(value.elements.map { tree($0, in: bytes, fail: fail) })
        }
        if let string = value.string {
            guard raw.count >= 2, raw.first == UInt8(ascii: "\""), raw.last == UInt8(ascii: "\"") else {
                fail("string rawBytes not quoted at \(value.offset)")
            }
            let content = Array(raw.dropFirst().dropLast())
            let expected = referenceDecode(content[...], dropSegmentBOM: false)
            if Array(string.utf8) != expected { fail("string at \(value.offset) decodes to \(string.debugDescription), expected \(String(decoding: expected, as: UTF8.self).debugDescription)") }
            return .string(string, raw: content)
        }
        if value.isNumber {
            let text = String(decoding: raw, as: UTF8.self)
            guard let double = value.double else { fail("number \(text) has no double") }
            // References: the standard library's own (correctly rounded) conversions.
            if double != Double(text)! && !(double.isNaN) { fail("number \(text): double \(double), expected \(Double(text)!)") }
            if value.int64 != Int64(text) { fail("number \(text): int64 \(String(describing: value.int64)), expected \(String(describing: Int64(text)))") }
            return .number(text: text, double: double, int64: value.int64)
        }
        if let bool = value.bool { return .bool(bool) }
        if !value.isNull { fail("value at \(value.offset) is of no kind") }
        return .null
    }

    /// The source of a member's key, between the quotes, found from the end of what precedes it
    /// (the `{`, or the previous member's value): white space, a `,` unless it is the first member,
    /// white space, the quoted key; then white space, `:`, white space must lead to the value.
    static func rawKey(in bytes: [UInt8], after start: Int, first: Bool, valueOffset: Int, fail: (String) -> Never) -> [UInt8] {
        func skipSpace(_ i: Int) -> Int {
            var i = i
            while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
            return i
        }
        var i = skipSpace(start)
        if !first {
            guard i < bytes.count, bytes[i] == UInt8(ascii: ",") else { fail("no ',' before the member at \(valueOffset)") }
            i = skipSpace(i + 1)
        }
        guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { fail("no key before the member at \(valueOffset)") }
        let open = i
        i += 1
        while i < bytes.count, bytes[i] != UInt8(ascii: "\"") { i += bytes[i] == UInt8(ascii: "\\") ? 2 : 1 }
        guard i < bytes.count else { fail("unterminated key before \(valueOffset)") }
        let raw = Array(bytes[(open + 1)..<i])
        i = skipSpace(i + 1)
        guard i < bytes.count, bytes[i] == UInt8(ascii: ":"), skipSpace(i + 1) == valueOffset else {
            fail("the member value at \(valueOffset) does not follow its key at \(open)")
        }
        return raw
    }

    nonisolated(unsafe) private static let foundationTrue = try! JSONSerialization.jsonObject(with: Data("true".utf8), options: [.fragmentsAllowed])

    /// Whether `number` is one of Foundation's booleans (on Linux, `__NSCFBoolean` instances).
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
    static func compare(_ mine: Tree, _ theirs: FTree, path: String, divergences: inout Set<Divergence>, fail: (String) -> Never) {
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
            guard a.count == b.count else { fail("\(path): \(a.count) elements vs Foundation's \(b.count)") }
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
                fail("\(path): \(merged.count) distinct names vs Foundation's \(dictionary.count)")
            }
            for (key, value) in dictionary {
                guard let i = merged.firstIndex(where: { sameScalars($0.key, key) }) else {
                    fail("\(path): Foundation has name \(key.debugDescription), we do not")
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
    static func checkErrorPosition(_ error: JSONParseError, in bytes: [UInt8], fail: (String) -> Never) {
        guard error.offset >= 0, error.offset <= bytes.count else { fail("error offset \(error.offset) outside 0...\(bytes.count)") }
        let before = bytes[..<error.offset]
        let line = before.filter { $0 == 0x0A }.count + 1
        let column = error.offset - ((before.lastIndex(of: 0x0A)).map { $0 + 1 } ?? 0) + 1
        if error.line != line || error.column != column {
            fail("error at byte \(error.offset) reports line \(error.line) column \(error.column), expected \(line):\(column)")
        }
        if error.reason.isEmpty { fail("error without a reason") }
    }

    /// Writes our tree back with `JSONWriter` and checks the output parses to the same tree.
    static func checkRoundTrip(_ document: JSONDocument, _ mine: Tree, fail: (String) -> Never) {
        var writer = JSONWriter()
        write(mine, to: &writer)
        guard let again = try? JSONDocument(parsing: writer.bytes) else {
            fail("JSONWriter output does not parse: \(show(writer.bytes))")
        }
        var rewritten = JSONWriter()
        write(tree(again.root, in: again.bytes, fail: fail), to: &rewritten)
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
}
