import Foundation
import Testing
import TestSupport
@testable import JSON

// Unit tests of the JSON reader (JSONDocument, JSONValue) and JSONWriter: exact values,
// exact rejections with their positions, limits.

private func parse(_ text: String, limits: JSONLimits = .init()) throws -> JSONValue {
    try JSONDocument(parsing: text, limits: limits).root
}

private func parse(_ bytes: [UInt8], limits: JSONLimits = .init()) throws -> JSONValue {
    try JSONDocument(parsing: bytes, limits: limits).root
}

@Suite("JSON reader: values")
struct JSONValueTests {
    @Test("every escape decodes exactly")
    func escapes() throws {
        let value = try parse(#""\" \\ \/ \b \f \n \r \t \u0041 \u00e9 \u20AC \uFFFF \ud83d\ude00 \uD83D\uDE00 \u0000""#)
        #expect(value.string == "\" \\ / \u{08} \u{0C} \n \r \t A é € \u{FFFF} 😀 😀 \u{0}")
        #expect(Array(value.string!.utf8).last == 0x00)
    }

    @Test("the surrogate pair \\ud83d\\ude00 is one scalar, U+1F600")
    func surrogatePair() throws {
        let value = try parse(#""\ud83d\ude00""#)
        #expect(value.string.map { Array($0.unicodeScalars) } == ["\u{1F600}"])
        #expect(try parse(#""\uDBFF\uDFFF""#).string == "\u{10FFFF}")
        #expect(try parse(#""\uD800\uDC00""#).string == "\u{10000}")
    }

    @Test("raw UTF-8 of 2, 3 and 4 bytes passes through unchanged")
    func rawUTF8() throws {
        let text = "é€😀\u{7F}\u{2028}\u{FEFF}\u{10FFFF}"
        let value = try parse("\"\(text)\"")
        #expect(value.string == text)
        #expect(Array(value.string!.utf8) == [0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0x98, 0x80, 0x7F, 0xE2, 0x80, 0xA8, 0xEF, 0xBB, 0xBF, 0xF4, 0x8F, 0xBF, 0xBF])
        // Mixed with escapes, the raw bytes are copied around them.
        #expect(try parse(#""é\n😀\t€""#).string == "é\n😀\t€")
    }

    struct NumberCase: Sendable, CustomTestStringConvertible {
        var text: String
        var int64: Int64?
        var double: Double
        var testDescription: String { text }
    }

    @Test("numbers: int64 only for integers in range, double always", arguments: [
        NumberCase(text: "0", int64: 0, double: 0),
        NumberCase(text: "-0", int64: 0, double: -0.0),
        NumberCase(text: "1e3", int64: nil, double: 1000),
        NumberCase(text: "1E3", int64: nil, double: 1000),
        NumberCase(text: "1.5E-2", int64: nil, double: 0.015),
        NumberCase(text: "1000", int64: 1000, double: 1000),
        NumberCase(text: "1000.0", int64: nil, double: 1000),
        NumberCase(text: "-12.5e+1", int64: nil, double: -125),
        NumberCase(text: "9223372036854775807", int64: .max, double: 9.223372036854775808e18),
        NumberCase(text: "-9223372036854775808", int64: .min, double: -9_223_372_036_854_775_808),
        NumberCase(text: "9223372036854775808", int64: nil, double: 9_223_372_036_854_775_808),
        NumberCase(text: "-9223372036854775809", int64: nil, double: -9.223372036854775808e18),
        NumberCase(text: "18446744073709551616", int64: nil, double: 18_446_744_073_709_551_616),
        NumberCase(text: "123456789012345678901234567890", int64: nil, double: 1.2345678901234568e29),
        NumberCase(text: "9007199254740993", int64: 9_007_199_254_740_993, double: 9_007_199_254_740_992),
        NumberCase(text: "0.30000000000000004", int64: nil, double: 0.30000000000000004),
        NumberCase(text: "4.9e-324", int64: nil, double: .leastNonzeroMagnitude),
        NumberCase(text: "1e-400", int64: nil, double: 0),
        // Valid JSON beyond Double's range: accepted, with an infinite double (Foundation rejects it).
        NumberCase(text: "1e400", int64: nil, double: .infinity),
        NumberCase(text: "-1e400", int64: nil, double: -.infinity),
    ])
    func numbers(_ c: NumberCase) throws {
        let value = try parse(c.text)
        #expect(value.isNumber)
        #expect(value.int64 == c.int64)
        #expect(value.double == c.double)
        #expect(value.double?.sign == c.double.sign)
        #expect(Array(value.rawBytes) == Array(c.text.utf8))
    }

    @Test("non-numbers have no int64 or double; non-strings no string; non-booleans no bool")
    func accessorsOnOtherKinds() throws {
        let root = try parse(#"["1", 1, true, null, {}, []]"#)
        let e = root.elements
        #expect(e[0].int64 == nil && e[0].double == nil && e[0].string == "1")
        #expect(e[1].string == nil && e[1].bool == nil)
        #expect(e[2].bool == true && e[2].int64 == nil)
        #expect(e[3].isNull && e[3].bool == nil && e[3].string == nil)
        #expect(e.map(\.typeName) == ["a string", "a number", "a boolean", "null", "an object", "an array"])
        #expect(e[0]["a"] == nil && e[0].member("a") == nil && e[0].members.isEmpty && e[0].elements.isEmpty)
        #expect(e[4].elements.isEmpty && e[5].members.isEmpty && e[5]["a"] == nil)
        #expect(try parse("false").bool == false)
    }

    @Test("duplicate keys: the last one wins, for the subscript and member(_:)")
    func duplicateKeys() throws {
        let root = try parse(#"{"a":1,"b":2,"a":3,"c":{"a":9},"a":4}"#)
        #expect(root["a"]?.int64 == 4)
        #expect(root.member("a")?.int64 == 4)
        #expect(root.members.map(\.key) == ["a", "b", "a", "c", "a"])
        #expect(root.members.map { $0.value.int64 } == [1, 2, 3, nil, 4])
        #expect(root["missing"] == nil && root.member("missing") == nil)
    }

    @Test("escaped keys match their unescaped form, and duplicates win across spellings")
    func escapedKeys() throws {
        #expect(try parse(#"{"\u0069mage":"x"}"#)["image"]?.string == "x")
        #expect(try parse(#"{"\u0069mage":"x"}"#).member("image")?.string == "x")
        let root = try parse(#"{"image":"a","\u0069mag\u0065":"b","im\/age":"c","\n":"d"}"#)
        #expect(root["image"]?.string == "b")
        #expect(root.member("image")?.string == "b")
        #expect(root["im/age"]?.string == "c")
        #expect(root.member("\n")?.string == "d")
        #expect(root["imag"] == nil && root["images"] == nil && root["imagf"] == nil)
    }

    @Test("names match byte for byte: no Unicode normalization (RFC 8259 §8.3, as in Go)")
    func keysAreByteExact() throws {
        // KELVIN SIGN U+212A is canonically equivalent to "K"; Swift's String == says they are equal.
        for text in [#"{"\u212Aind":"Pod"}"#, "{\"\u{212A}ind\":\"Pod\"}"] {
            let root = try parse(text)
            #expect(root["Kind"] == nil, "\(text)")
            #expect(root.member("Kind") == nil, "\(text)")
            #expect(root.member("\u{212A}ind")?.string == "Pod", "\(text)")
        }
        // Precomposed é (U+00E9) versus e + U+0301.
        let root = try parse(#"{"\u00e9":1,"e\u0301":2}"#)
        #expect(root["é"]?.int64 == 1)
        #expect(root.member("é")?.int64 == 1)
        #expect(root.member("e\u{301}")?.int64 == 2)
        #expect(try parse("{\"e\u{301}\":2}")["é"] == nil)
    }

    @Test("forEachMember: every member once in document order; names match literals byte for byte after unescaping")
    func forEachMember() throws {
        let root = try parse(#"{"a":1,"\u0069mage":"x","b":{"a":9},"a":4,"\u212Aind":"k","imag":0,"images":0,"im\/age":"s"}"#)
        var seen: [String] = []
        var (a, image, kind, slash): (Int64?, String?, Bool, String?) = (nil, nil, false, nil)
        root.forEachMember { name, value in
            seen.append(name.string)
            switch name {
            case "a": a = value.int64
            case "image": image = value.string
            case "Kind": kind = true
            case "im/age": slash = value.string
            default: break
            }
        }
        #expect(seen == ["a", "image", "b", "a", "\u{212A}ind", "imag", "images", "im/age"])
        #expect(a == 4, "the last duplicate wins, as for the subscript")
        #expect(image == "x")
        #expect(!kind, "KELVIN SIGN is not K")
        #expect(slash == "s")
        var inner: [Bool] = []
        root["b"]?.forEachMember { name, _ in inner.append(name == "a") }
        #expect(inner == [true])
        for text in ["[1,2]", "{}", #""a""#, "null"] {
            var count = 0
            try parse(text).forEachMember { _, _ in count += 1 }
            #expect(count == 0, "\(text)")
        }
    }

    @Test("members and elements keep document order")
    func order() throws {
        let root = try parse(#"{"z":[3,2,1],"a":null,"m":{"y":1,"x":2}}"#)
        #expect(root.members.map(\.key) == ["z", "a", "m"])
        #expect(root["z"]!.elements.map(\.int64) == [3, 2, 1])
        #expect(root["m"]!.members.map(\.key) == ["y", "x"])
    }

    @Test("rawBytes is the exact source text of a value")
    func rawBytes() throws {
        let text = "{ \"a\" : [ 1 ,\n\"x\\ny\" , { \"b\" :\ttrue } ] , \"n\" : -1.50e+3 }"
        let document = try JSONDocument(parsing: text)
        let root = document.root
        #expect(Array(root.rawBytes) == Array(text.utf8))
        let a = root["a"]!
        #expect(String(decoding: a.rawBytes, as: UTF8.self) == "[ 1 ,\n\"x\\ny\" , { \"b\" :\ttrue } ]")
        #expect(String(decoding: a.elements[1].rawBytes, as: UTF8.self) == "\"x\\ny\"")
        #expect(String(decoding: a.elements[2].rawBytes, as: UTF8.self) == "{ \"b\" :\ttrue }")
        #expect(String(decoding: root["n"]!.rawBytes, as: UTF8.self) == "-1.50e+3")
        // Offsets point at the first byte of the value (the quote for strings).
        #expect(a.elements.map(\.offset) == [10, 14, 23])
        // A sub-object copied verbatim parses to the same thing.
        #expect(try JSONDocument(parsing: Array(a.elements[2].rawBytes)).root["b"]?.bool == true)
    }

    @Test("path names nested values")
    func paths() throws {
        let root = try parse(#"{"a":{"b":[0,1,{"c":true}]},"d":[[null]]}"#)
        let c = root["a"]!["b"]!.elements[2]["c"]!
        #expect(c.path == "a.b[2].c")
        #expect(root["a"]!["b"]!.elements[1].path == "a.b[1]")
        #expect(root["d"]!.elements[0].elements[0].path == "d[0][0]")
        #expect(root.path == "")
        #expect(try parse(#"[{"x":[1]}]"#).elements[0]["x"]!.elements[0].path == "[0].x[0]")
    }

    @Test("a leading UTF-8 byte order mark is skipped")
    func byteOrderMark() throws {
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array(#"{"a":1}"#.utf8)
        let root = try parse(bytes)
        #expect(root["a"]?.int64 == 1)
        #expect(root.offset == 3)
        #expect(Array(root.rawBytes) == Array(#"{"a":1}"#.utf8))
    }

    @Test("the String initializer parses the UTF-8 of the string")
    func stringInitializer() throws {
        #expect(try JSONDocument(parsing: "[\"é\"]").root.elements.first?.string == "é")
        #expect(JSONLimits().maximumDepth == 512)
        #expect(JSONLimits().maximumBytes == 64 << 20)
    }
}

@Suite("JSON reader: rejections")
struct JSONRejectionTests {
    struct Rejection: Sendable, CustomTestStringConvertible {
        var name: String
        var bytes: [UInt8]
        var offset: Int
        var line: Int
        var column: Int
        var reason: String
        init(_ name: String, _ bytes: [UInt8], _ offset: Int, _ line: Int, _ column: Int, _ reason: String) {
            (self.name, self.bytes, self.offset, self.line, self.column, self.reason) = (name, bytes, offset, line, column, reason)
        }
        init(_ text: String, _ offset: Int, _ line: Int, _ column: Int, _ reason: String) {
            self.init(text, Array(text.utf8), offset, line, column, reason)
        }
        var testDescription: String { name.debugDescription }
    }

    static let cases: [Rejection] = [
        Rejection("", 0, 1, 1, "unexpected end of text, expected a value"),
        Rejection("   \n ", 5, 2, 2, "unexpected end of text, expected a value"),
        Rejection("{", 1, 1, 2, "unexpected end of text inside an object"),
        Rejection("[", 1, 1, 2, "unexpected end of text, expected a value"),
        Rejection("[1", 2, 1, 3, "unexpected end of text inside an array"),
        Rejection(#"{"a""#, 4, 1, 5, "unexpected end of text, expected ':'"),
        Rejection(#"{"a" 1}"#, 5, 1, 6, "unexpected character '1', expected ':'"),
        Rejection(#"{"a":"#, 5, 1, 6, "unexpected end of text, expected a value"),
        Rejection(#"{"a":1 "b":2}"#, 7, 1, 8, "unexpected character '\"', expected ',' or '}'"),
        Rejection("{a:1}", 1, 1, 2, "unexpected character 'a', expected a string key"),
        Rejection("[1 2]", 3, 1, 4, "unexpected character '2', expected ',' or ']'"),
        Rejection("[1,]", 3, 1, 4, "unexpected character ']', expected a value"),
        Rejection(#"{"a":1,}"#, 7, 1, 8, "unexpected character '}', expected a string key"),
        Rejection("[,1]", 1, 1, 2, "unexpected character ',', expected a value"),
        Rejection("01", 1, 1, 2, "invalid number, leading zeros are not allowed"),
        Rejection("-01", 2, 1, 3, "invalid number, leading zeros are not allowed"),
        Rejection("1.", 2, 1, 3, "invalid number, expected a digit after '.'"),
        Rejection("1.e5", 2, 1, 3, "invalid number, expected a digit after '.'"),
        Rejection(".5", 0, 1, 1, "unexpected character '.', expected a value"),
        Rejection("+1", 0, 1, 1, "unexpected character '+', expected a value"),
        Rejection("-", 1, 1, 2, "invalid number, expected a digit"),
        Rejection("-a", 1, 1, 2, "invalid number, expected a digit"),
        Rejection("1e", 2, 1, 3, "invalid number, expected a digit in the exponent"),
        Rejection("1e+", 3, 1, 4, "invalid number, expected a digit in the exponent"),
        Rejection("tru", 0, 1, 1, "invalid literal, expected 'true'"),
        Rejection("trUe", 2, 1, 3, "invalid literal, expected 'true'"),
        Rejection("nul", 0, 1, 1, "invalid literal, expected 'null'"),
        Rejection("fals", 0, 1, 1, "invalid literal, expected 'false'"),
        Rejection("True", 0, 1, 1, "unexpected character 'T', expected a value"),
        Rejection(#""abc"#, 0, 1, 1, "unterminated string"),
        Rejection(#"["a", "bc]"#, 6, 1, 7, "unterminated string"),
        Rejection("raw control character", [0x22, 0x61, 0x01, 0x62, 0x22], 2, 1, 3, "control character 0x01 must be escaped in a string"),
        Rejection("raw newline in a string", Array("[\n\"a\nb\"]".utf8), 4, 2, 3, "control character 0x0A must be escaped in a string"),
        Rejection(#""\x""#, 2, 1, 3, "invalid escape \\x in a string"),
        Rejection(#""\U0041""#, 2, 1, 3, "invalid escape \\U in a string"),
        Rejection(#""\u12""#, 3, 1, 4, "incomplete \\u escape"),
        Rejection(#"["\u12"]"#, 6, 1, 7, "invalid hex digit in \\u escape"),
        Rejection(#""\uZZZZ""#, 3, 1, 4, "invalid hex digit in \\u escape"),
        Rejection(#""\ud800""#, 1, 1, 2, "unpaired high surrogate \\uD800 in a string"),
        Rejection(#""\udc00""#, 1, 1, 2, "unpaired low surrogate \\uDC00 in a string"),
        Rejection(#""\ud800\u0041""#, 7, 1, 8, "expected a low surrogate after \\uD800"),
        Rejection(#""\ud800\ud800""#, 7, 1, 8, "expected a low surrogate after \\uD800"),
        Rejection("overlong C0 80", [0x22, 0xC0, 0x80, 0x22], 1, 1, 2, "invalid UTF-8 byte 0xC0"),
        Rejection("encoded surrogate ED A0 80", [0x22, 0xED, 0xA0, 0x80, 0x22], 2, 1, 3, "invalid UTF-8 continuation byte 0xA0"),
        Rejection("beyond U+10FFFF F4 90 80 80", [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], 2, 1, 3, "invalid UTF-8 continuation byte 0x90"),
        Rejection("overlong C1 BF", [0x22, 0xC1, 0xBF, 0x22], 1, 1, 2, "invalid UTF-8 byte 0xC1"),
        Rejection("overlong E0 9F BF", [0x22, 0xE0, 0x9F, 0xBF, 0x22], 2, 1, 3, "invalid UTF-8 continuation byte 0x9F"),
        Rejection("overlong F0 8F BF BF", [0x22, 0xF0, 0x8F, 0xBF, 0xBF, 0x22], 2, 1, 3, "invalid UTF-8 continuation byte 0x8F"),
        Rejection("bad third byte E2 82 41", [0x22, 0xE2, 0x82, 0x41, 0x22], 3, 1, 4, "invalid UTF-8 continuation byte 0x41"),
        Rejection("bad fourth byte F0 9F 98 C0", [0x22, 0xF0, 0x9F, 0x98, 0xC0, 0x22], 4, 1, 5, "invalid UTF-8 continuation byte 0xC0"),
        Rejection("F5 lead byte", [0x22, 0xF5, 0x80, 0x80, 0x80, 0x22], 1, 1, 2, "invalid UTF-8 byte 0xF5"),
        Rejection("truncated E2 82 at the end", [0x22, 0xE2, 0x82], 1, 1, 2, "truncated UTF-8 sequence"),
        Rejection("truncated E2 82 before the quote", [0x22, 0xE2, 0x82, 0x22], 3, 1, 4, "invalid UTF-8 continuation byte 0x22"),
        Rejection("stray continuation byte 80", [0x22, 0x80, 0x22], 1, 1, 2, "invalid UTF-8 byte 0x80"),
        Rejection("high byte outside a string", [0x5B, 0xC3, 0xA9, 0x5D], 1, 1, 2, "unexpected character 0xC3, expected a value"),
        Rejection("{} x", 3, 1, 4, "unexpected data after the top-level value"),
        Rejection("1 2", 2, 1, 3, "unexpected data after the top-level value"),
        Rejection("[]]", 2, 1, 3, "unexpected data after the top-level value"),
        Rejection("NUL after the value", [0x31, 0x00], 1, 1, 2, "unexpected data after the top-level value"),
        Rejection("byte order mark after whitespace", [0x20, 0xEF, 0xBB, 0xBF, 0x31], 1, 1, 2, "unexpected character 0xEF, expected a value"),
        Rejection("byte order mark alone", [0xEF, 0xBB, 0xBF], 3, 1, 4, "unexpected end of text, expected a value"),
        Rejection("position after a byte order mark", [0xEF, 0xBB, 0xBF] + Array(#"{"a":01}"#.utf8), 9, 1, 10, "invalid number, leading zeros are not allowed"),
        Rejection("{\n  \"a\": tru\n}", 12, 2, 11, "invalid literal, expected 'true'"),
        Rejection("[\r\n1,\r\n\t]", 8, 3, 2, "unexpected character ']', expected a value"),
        Rejection("\u{0C}1", 0, 1, 1, "unexpected character 0x0C, expected a value"),
        Rejection("\u{A0}1", 0, 1, 1, "unexpected character 0xC2, expected a value"),
    ]

    @Test("invalid texts are rejected with a reason and a position", arguments: cases)
    func rejected(_ c: Rejection) {
        #expect(throws: JSONParseError(offset: c.offset, line: c.line, column: c.column, reason: c.reason)) {
            try JSONDocument(parsing: c.bytes)
        }
    }

    @Test("long strings: a special byte is found at every position, whatever the alignment")
    func specialBytesAtEveryPosition() throws {
        let filler = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)
        for position in 0..<filler.count {
            func text(_ middle: [UInt8]) -> [UInt8] {
                [0x22] + filler[..<position] + middle + filler[position...] + [0x22]
            }
            for control in UInt8(0)..<0x20 {
                let reason = "control character 0x\(String(control, radix: 16, uppercase: true).count == 1 ? "0" : "")\(String(control, radix: 16, uppercase: true)) must be escaped in a string"
                #expect(throws: JSONParseError(offset: 1 + position, line: 1, column: 2 + position, reason: reason)) {
                    try JSONDocument(parsing: text([control]))
                }
            }
            #expect(throws: JSONParseError(offset: 1 + position, line: 1, column: 2 + position, reason: "invalid UTF-8 byte 0xC0")) {
                try JSONDocument(parsing: text([0xC0, 0x80]))
            }
            #expect(throws: JSONParseError(offset: 2 + position, line: 1, column: 3 + position, reason: "unexpected data after the top-level value")) {
                try JSONDocument(parsing: text([0x22]))
            }
            let expected = String(decoding: filler[..<position], as: UTF8.self) + "\n\u{7F}é😀" + String(decoding: filler[position...], as: UTF8.self)
            #expect(try parse(text(Array(#"\n\u007F"#.utf8) + Array("é😀".utf8))).string == expected)
            #expect(try parse(text(Array("\u{7F}".utf8))).string?.utf8.count == filler.count + 1)
        }
    }

    @Test("the error description names line, column and byte")
    func description() {
        let error = JSONParseError(offset: 12, line: 2, column: 11, reason: "invalid literal, expected 'true'")
        #expect(error.description == "line 2, column 11 (byte 12): invalid literal, expected 'true'")
    }
}

@Suite("JSON reader: limits")
struct JSONLimitTests {
    func nested(_ open: String, _ middle: String, _ close: String, _ depth: Int) -> [UInt8] {
        Array((String(repeating: open, count: depth) + middle + String(repeating: close, count: depth)).utf8)
    }

    @Test("512 levels of arrays are accepted, 513 rejected at the 513th bracket")
    func arrayDepth() throws {
        var value = try parse(nested("[", "", "]", 512))
        for _ in 1..<512 { value = value.elements[0] }
        #expect(value.isArray && value.elements.isEmpty)
        #expect(value.path == String(repeating: "[0]", count: 511))
        #expect(throws: JSONParseError(offset: 512, line: 1, column: 513, reason: "nesting is deeper than 512 levels")) {
            try JSONDocument(parsing: nested("[", "", "]", 513))
        }
    }

    @Test("512 levels of objects are accepted, 513 rejected at the 513th brace")
    func objectDepth() throws {
        var value = try parse(nested(#"{"a":"#, "1", "}", 512))
        for _ in 0..<512 { value = value["a"]! }
        #expect(value.int64 == 1)
        #expect(throws: JSONParseError(offset: 512 * 5, line: 1, column: 512 * 5 + 1, reason: "nesting is deeper than 512 levels")) {
            try JSONDocument(parsing: nested(#"{"a":"#, "1", "}", 513))
        }
        // Mixed: arrays and objects count alike.
        _ = try parse(nested(#"[{"a":"#, "1", "}]", 256))
        #expect(throws: JSONParseError.self) { try JSONDocument(parsing: nested(#"[{"a":"#, "[]", "}]", 256)) }
    }

    @Test("a custom depth limit")
    func customDepth() throws {
        _ = try parse("[[[]]]", limits: JSONLimits(maximumDepth: 3))
        #expect(throws: JSONParseError(offset: 6, line: 4, column: 1, reason: "nesting is deeper than 3 levels")) {
            try JSONDocument(parsing: "[\n[\n[\n[\n]]]]", limits: JSONLimits(maximumDepth: 3))
        }
        #expect(try parse("1", limits: JSONLimits(maximumDepth: 0)).int64 == 1)
        #expect(throws: JSONParseError(offset: 0, line: 1, column: 1, reason: "nesting is deeper than 0 levels")) {
            try JSONDocument(parsing: "[]", limits: JSONLimits(maximumDepth: 0))
        }
    }

    @Test("100,000 nested brackets are rejected quickly, without exhausting the stack")
    func hostileNesting() throws {
        let clock = ContinuousClock()
        let start = clock.now
        for open in ["[", #"{"a":"#] {
            let bytes = Array(String(repeating: open, count: 100_000).utf8)
            #expect(throws: JSONParseError(offset: 512 * open.utf8.count, line: 1, column: 512 * open.utf8.count + 1, reason: "nesting is deeper than 512 levels")) {
                try JSONDocument(parsing: bytes)
            }
        }
        #expect(clock.now - start < .seconds(1))
    }

    @Test("nesting costs no stack: 100,000 levels parse on a 256 KB thread when the limit allows")
    func deepNestingOnASmallStack() async throws {
        let depth = 100_000
        let arrays = Array((String(repeating: "[", count: depth) + String(repeating: "]", count: depth)).utf8)
        let objects = Array((String(repeating: #"{"a":"#, count: depth) + "1" + String(repeating: "}", count: depth)).utf8)
        let results: [String] = await withCheckedContinuation { continuation in
            let thread = Thread {
                var results: [String] = []
                for bytes in [arrays, objects, Array(arrays.dropLast())] {
                    do {
                        let document = try JSONDocument(parsing: bytes, limits: JSONLimits(maximumDepth: .max))
                        results.append("ok \(document.root.typeName) \(document.root.rawBytes.count)")
                    } catch {
                        results.append("\(error)")
                    }
                }
                continuation.resume(returning: results)
            }
            thread.stackSize = 256 << 10
            thread.start()
        }
        #expect(results == [
            "ok an array \(2 * depth)",
            "ok an object \(objects.count)",
            "line 1, column \(2 * depth) (byte \(2 * depth - 1)): unexpected end of text inside an array",
        ])
    }

    @Test("texts larger than maximumBytes are rejected before parsing")
    func maximumBytes() throws {
        #expect(try parse("1234567890", limits: JSONLimits(maximumBytes: 10)).int64 == 1_234_567_890)
        #expect(throws: JSONParseError(offset: 10, line: 1, column: 11, reason: "text is larger than 10 bytes")) {
            try JSONDocument(parsing: "12345678901", limits: JSONLimits(maximumBytes: 10))
        }
        // The size check comes first: even an invalid text reports its size.
        #expect(throws: JSONParseError(offset: 4, line: 2, column: 3, reason: "text is larger than 4 bytes")) {
            try JSONDocument(parsing: "[\n}}}}", limits: JSONLimits(maximumBytes: 4))
        }
    }
}

@Suite("JSONWriter")
struct JSONWriterTests {
    @Test("writes compact JSON in the order given")
    func compact() throws {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("a"); writer.int(-1)
        writer.key("b"); writer.beginArray(); writer.bool(true); writer.null(); writer.string("x"); writer.beginObject(); writer.endObject(); writer.endArray()
        writer.key("c"); writer.beginObject(); writer.key("d"); writer.bool(false); writer.endObject()
        writer.key("e"); writer.raw(Array(#"{"f":[1,2]}"#.utf8))
        writer.key("g"); writer.beginArray(); writer.endArray()
        writer.endObject()
        let expected = #"{"a":-1,"b":[true,null,"x",{}],"c":{"d":false},"e":{"f":[1,2]},"g":[]}"#
        #expect(String(decoding: writer.bytes, as: UTF8.self) == expected)
        let root = try parse(writer.bytes)
        #expect(root.members.map(\.key) == ["a", "b", "c", "e", "g"])
        #expect(root["e"]?["f"]?.elements.map(\.int64) == [1, 2])
    }

    @Test("commas stay right at every depth, past the 64 levels the writer keeps in one word", arguments: [1, 63, 64, 65, 130])
    func deepNesting(depth: Int) throws {
        // At each level: an object with a member before and after the nested value, then the same as an array.
        func write(_ level: Int, _ writer: inout JSONWriter) {
            guard level < depth else { writer.int(level); return }
            writer.beginObject()
            writer.key("a"); writer.int(level)
            writer.key("n"); writer.beginArray(); writer.int(level); write(level + 1, &writer); writer.int(level); writer.endArray()
            writer.key("z"); writer.bool(true)
            writer.endObject()
        }
        var writer = JSONWriter()
        write(0, &writer)
        var expected = "\(depth)"
        for level in (0..<depth).reversed() { expected = #"{"a":\#(level),"n":[\#(level),\#(expected),\#(level)],"z":true}"# }
        #expect(String(decoding: writer.bytes, as: UTF8.self) == expected)
    }

    @Test("escapes quotes, backslashes and every control character; nothing else")
    func escaping() throws {
        var bytes: [UInt8] = []
        JSONWriter.appendQuoted("\"\\/\n\r\t\u{08}\u{0C}\u{0}\u{1F}\u{7F}é\u{2028}😀", to: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == #""\"\\/\n\r\t\u0008\u000c\u0000\u001f\u007fé"# + "\u{2028}😀\"")
        for scalar in 0..<0x20 {
            var out: [UInt8] = []
            JSONWriter.appendQuoted(String(UnicodeScalar(UInt8(scalar))), to: &out)
            #expect(!out.contains { $0 < 0x20 }, "U+\(scalar) must be escaped")
            #expect(try parse(out).string == String(UnicodeScalar(UInt8(scalar))))
        }
    }

    @Test("escaping matches a byte-by-byte escaper wherever the byte to escape falls in an 8-byte word")
    func escapingAgainstReference() {
        // The reference: every byte in turn, as the writer escaped before it scanned words.
        func reference(_ value: String) -> [UInt8] {
            var out: [UInt8] = [UInt8(ascii: "\"")]
            for byte in value.utf8 {
                switch byte {
                case UInt8(ascii: "\""): out += Array(#"\""#.utf8)
                case UInt8(ascii: "\\"): out += Array(#"\\"#.utf8)
                case 0x0A: out += Array(#"\n"#.utf8)
                case 0x0D: out += Array(#"\r"#.utf8)
                case 0x09: out += Array(#"\t"#.utf8)
                case 0..<0x20, 0x7F: out += Array(String(format: "\\u%04x", byte).utf8)
                default: out.append(byte)
                }
            }
            out.append(UInt8(ascii: "\""))
            return out
        }
        // Bytes on both sides of each class's edges, and multi-byte UTF-8.
        let specials = ["\u{0}", "\u{1F}", " ", "!", "\"", "#", "[", "\\", "]", "~", "\u{7F}", "é", "😀", "\n", "\t"]
        var checked = 0
        for length in 0...24 {
            for position in 0..<max(length, 1) {
                for special in specials {
                    var scalars = Array(repeating: "a", count: length)
                    if length > 0 { scalars[position] = special }
                    let sample = scalars.joined()
                    var bytes: [UInt8] = []
                    JSONWriter.appendQuoted(sample, to: &bytes)
                    #expect(bytes == reference(sample), "\(Array(sample.utf8))")
                    checked += 1
                }
            }
        }
        var rng = SplitMix64(seed: 7)
        for _ in 0..<5_000 {
            let sample = (0..<rng.below(40)).map { _ in rng.below(4) == 0 ? rng.pick(specials) : "x" }.joined()
            var bytes: [UInt8] = []
            JSONWriter.appendQuoted(sample, to: &bytes)
            #expect(bytes == reference(sample), "\(Array(sample.utf8))")
            checked += 1
        }
        #expect(checked == 5_000 + 15 * (1 + (1...24).reduce(0, +)))
    }

    @Test("a key known not to need escaping is written as key(_:) writes it")
    func unescapedKey() {
        var a = JSONWriter(), b = JSONWriter()
        a.beginObject(); a.key(unescaped: "latencyMicroseconds"); a.int(3); a.key(unescaped: "x"); a.beginArray(); a.endArray(); a.endObject()
        b.beginObject(); b.key("latencyMicroseconds"); b.int(3); b.key("x"); b.beginArray(); b.endArray(); b.endObject()
        #expect(a.bytes == b.bytes)
        #expect(String(decoding: a.bytes, as: UTF8.self) == #"{"latencyMicroseconds":3,"x":[]}"#)
    }

    @Test("round-trips arbitrary strings, including U+0000, U+007F, U+2028 and emoji")
    func roundTrip() throws {
        var samples = ["", "\u{0}", "\u{7F}", "\u{2028}\u{2029}", "😀", "👩‍👩‍👧", "e\u{301}", "\u{FEFF}", "\u{FFFF}", "\u{10FFFF}", "\"\\", "a\u{0}b\u{1F}c"]
        var rng = SplitMix64(seed: 99)
        for _ in 0..<2_000 {
            var s = String.UnicodeScalarView()
            for _ in 0..<rng.below(12) {
                let ranges: [ClosedRange<UInt32>] = [0...0x7F, 0x80...0x7FF, 0x800...0xD7FF, 0xE000...0xFFFF, 0x10000...0x10FFFF]
                let range = rng.pick(ranges)
                s.append(Unicode.Scalar(range.lowerBound + UInt32(rng.below(Int(range.upperBound - range.lowerBound + 1))))!)
            }
            samples.append(String(s))
        }
        for sample in samples {
            var writer = JSONWriter()
            writer.beginObject()
            writer.key(sample)
            writer.string(sample)
            writer.endObject()
            let root = try parse(writer.bytes)
            #expect(root.members.count == 1)
            #expect(root.members.first.map { Array($0.key.unicodeScalars) } == Array(sample.unicodeScalars))
            #expect(root.member(sample)?.string.map { Array($0.unicodeScalars) } == Array(sample.unicodeScalars))
            // And Foundation reads it the same way (unless a byte order mark starts a segment,
            // see Divergence.byteOrderMarkInString).
            let foundation = try JSONSerialization.jsonObject(with: Data(writer.bytes)) as? [String: String]
            if !sample.unicodeScalars.contains("\u{FEFF}") {
                #expect(foundation?.first.map { Array($0.value.unicodeScalars) } == Array(sample.unicodeScalars))
            }
        }
    }
}
