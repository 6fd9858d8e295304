import Testing
import YAML

private func documents(_ text: String) -> (documents: [YAMLNode], error: YAMLError?) {
    YAMLParser.documents(in: Array(text.utf8))
}

private func only(_ text: String) throws -> YAMLNode {
    let (documents, error) = documents(text)
    #expect(error == nil)
    return try #require(documents.count == 1 ? documents.first : nil)
}

@Suite("YAML: scalars")
struct YAMLScalarTests {
    @Test("plain scalars resolve with YAML 1.1's patterns, in Yams' order", arguments: [
        ("yes", YAMLTag.bool), ("Off", .bool), ("TRUE", .bool), ("y", .str), ("yEs", .str),
        ("0755", .int), ("0x1F", .int), ("-0b101", .int), ("0o17", .int), ("190:20:30", .int), ("1_000", .int), ("+12", .int),
        ("3.50", .float), (".5", .float), ("1e3", .float), ("1.", .float), (".inf", .float), ("-.Inf", .float), (".NaN", .float),
        ("190:20:30.15", .float),
        ("<<", .merge), ("~", .null), ("", .null), ("NULL", .null), ("nULL", .str), ("=", .value),
        ("2024-01-02", .timestamp), ("2001-12-14t21:59:43.10-05:00", .timestamp), ("2001-12-14 21:59:43.10 Z", .timestamp),
        ("nginx:1.27", .str), ("1000:1000", .str), ("65535:65535", .str), ("0x", .str), ("web", .str), ("-", .str),
    ])
    func resolution(text: String, tag: YAMLTag) {
        #expect(YAMLTag(resolvingPlain: text) == tag)
    }

    @Test("integers: every radix, separators and base 60; nil when out of range, never a trap")
    func integers() throws {
        let node = try only("[0755, 0x1F, -0b101, 0o17, 190:20:30, 1_000, +12, -0, 9223372036854775807, 9223372036854775808, 1:00:00:00:00:00:00:00:00:00:00:00, '12']")
        let values = try #require(node.elements).map(\.intValue)
        #expect(values == [493, 31, -5, 15, 685_230, 1000, 12, 0, Int.max, nil, nil, nil])
    }

    @Test("floats, infinities and NaN; booleans in any case unless tagged !!str")
    func floatsAndBooleans() throws {
        let node = try only("[3.50, .5, 190:20:30.15, .inf, -.INF, +.inf, yes, OFF, !!str yes, !!bool 'on']")
        let elements = try #require(node.elements)
        #expect(elements[0].doubleValue == 3.5)
        #expect(elements[1].doubleValue == 0.5)
        #expect(elements[2].doubleValue == 685_230.15)
        #expect(elements[3].doubleValue == .infinity)
        #expect(elements[4].doubleValue == -.infinity)
        #expect(elements[5].doubleValue == .infinity)
        #expect(elements.dropFirst(6).map(\.boolValue) == [true, false, nil, true])
        #expect(elements.dropFirst(6).map(\.tag) == [.bool, .bool, .str, .bool])
    }

    @Test("explicit tags win; quoted and block scalars are strings; NUL survives")
    func tagsAndStyles() throws {
        let node = try only("""
            - !!str 5
            - !!int "5"
            - !config x
            - "yes"
            - 'no'
            - |
              literal
            - >
              folded
              text
            - "x\\0y"
            """)
        let elements = try #require(node.elements)
        #expect(elements.map(\.tag) == [.str, .int, .other("!config"), .str, .str, .str, .str, .str])
        #expect(elements.compactMap(\.scalar?.style) == [.plain, .doubleQuoted, .plain, .doubleQuoted, .singleQuoted, .literal, .folded, .doubleQuoted])
        #expect(elements[5].scalar?.text == "literal\n")
        #expect(elements[6].scalar?.text == "folded text\n")
        #expect(elements[7].scalar?.text == "x\u{0}y")
        #expect(elements[7].scalar?.text.utf8.count == 3)
    }
}

@Suite("YAML: documents")
struct YAMLDocumentTests {
    @Test("a stream of documents in order, with positions; an empty stream has none")
    func stream() throws {
        let (nodes, error) = documents("a: 1\n---\n- x\n- y\n--- plain\n")
        #expect(error == nil)
        #expect(nodes.count == 3)
        #expect(nodes[0]["a"]?.scalar?.text == "1")
        #expect(nodes[0]["a"]?.mark == YAMLMark(line: 1, column: 4))
        #expect(nodes[1].elements?.compactMap(\.scalar?.text) == ["x", "y"])
        #expect(nodes[1].mark == YAMLMark(line: 3, column: 1))
        #expect(nodes[2].scalar?.text == "plain")
        #expect(documents("").documents.isEmpty)
        #expect(documents("# only a comment\n").documents.isEmpty)
        #expect(documents("").error == nil)
    }

    @Test("aliases repeat their anchored node and share its anchor number; a redefined anchor gets a new one")
    func anchors() throws {
        let node = try only("a: &x {k: v}\nb: *x\nc: &x [1]\nd: *x\ne: plain\n")
        let a = try #require(node["a"]), b = try #require(node["b"]), c = try #require(node["c"]), d = try #require(node["d"])
        #expect(a.anchor != nil)
        #expect(a.anchor == b.anchor)
        #expect(b["k"]?.scalar?.text == "v")
        #expect(c.anchor == d.anchor)
        #expect(c.anchor != a.anchor)
        #expect(d.elements?.first?.intValue == 1)
        #expect(node["e"]?.anchor == nil)
    }

    @Test("syntax errors carry LibYAML's problem, its context and 1-based positions; earlier documents are kept")
    func syntaxErrors() throws {
        let (nodes, error) = documents("ok: 1\n---\nmetadata:\n  labels: a: b\n")
        #expect(nodes.count == 1)
        #expect(error == YAMLError(mark: YAMLMark(line: 4, column: 12), problem: "mapping values are not allowed in this context"))

        let flow = try #require(documents("key: [a, b\n").error)
        #expect(flow.mark == YAMLMark(line: 2, column: 1))
        #expect(flow.description == "did not find expected ',' or ']' (while parsing a flow sequence at line 1, column 6)")

        let alias = try #require(documents("a: *missing\n").error)
        #expect(alias == YAMLError(mark: YAMLMark(line: 1, column: 4), problem: "found undefined alias"))
    }

    @Test("bytes that are not UTF-8 and control characters are reader errors at their position")
    func readerErrors() throws {
        let latin1 = try #require(YAMLParser.documents(in: Array("a: b\nc: caf".utf8) + [0xE9, 0x0A]).error)
        #expect(latin1.problem == "incomplete UTF-8 octet sequence")
        #expect(latin1.mark == YAMLMark(line: 2, column: 7))
        let control = try #require(documents("a: \u{1}\n").error)
        #expect(control == YAMLError(mark: YAMLMark(line: 1, column: 4), problem: "control characters are not allowed"))
    }

    @Test("nesting is bounded at 1000 levels, with a clear error and no deep recursion")
    func nesting() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let error = try #require(documents(deep).error)
        #expect(error.problem == "nested more than 1000 levels deep")
        // LibYAML reports where the outermost collection starts.
        #expect(error.mark == YAMLMark(line: 1, column: 1))

        var node = try only(String(repeating: "[", count: 999) + String(repeating: "]", count: 999))
        var depth = 1
        while let inner = node.elements?.first {
            node = inner
            depth += 1
        }
        #expect(depth == 999)
    }

    @Test("repeated keys are refused at the first repeat's first occurrence; keys of other tags are distinct")
    func duplicateKeys() throws {
        let error = try #require(documents("a: 1\nb: 2\na: 3\nb: 4\nc: 5\n").error)
        #expect(error == YAMLError(mark: YAMLMark(line: 1, column: 1), problem: #"duplicate keys "a", "b" in a mapping"#))
        let one = try #require(documents("x: {kind: Pod, kind: Service}\n").error)
        #expect(one == YAMLError(mark: YAMLMark(line: 1, column: 5), problem: #"duplicate key "kind" in a mapping"#))
        #expect(documents("1: int\n'1': str\n").error == nil)
    }

    @Test("singleDocument: the document, nil for an empty stream, an error for a second document")
    func single() throws {
        #expect(try YAMLParser.singleDocument(in: Array("a: 1\n".utf8))?["a"]?.intValue == 1)
        #expect(try YAMLParser.singleDocument(in: []) == nil)
        #expect(throws: YAMLError(mark: YAMLMark(line: 2, column: 1), problem: "but found another document",
                                  context: YAMLError.Context(text: "expected a single document in the stream", mark: YAMLMark(line: 1, column: 1)))) {
            try YAMLParser.singleDocument(in: Array("a: 1\n---\nb: 2\n".utf8))
        }
    }
}
