import CLibYAML

/// Composes YAML documents from LibYAML's events: anchors and aliases resolved, tags resolved,
/// duplicate keys refused. LibYAML bounds nesting at 1000 levels, so nothing here recurses deeper.
public enum YAMLParser {
    /// Every document of a UTF-8 stream, in order, and the error that stopped the stream, if any.
    /// The documents before an error are kept, so a reader can use them and still report it.
    public static func documents(in bytes: some Collection<UInt8>) -> (documents: [YAMLNode], error: YAMLError?) {
        let events = EventReader(bytes)
        var documents: [YAMLNode] = []
        do {
            while let document = try nextDocument(from: events) {
                documents.append(document)
            }
            return (documents, nil)
        } catch {
            return (documents, error)
        }
    }

    /// The stream's only document; nil for a stream without documents.
    public static func singleDocument(in bytes: some Collection<UInt8>) throws(YAMLError) -> YAMLNode? {
        let events = EventReader(bytes)
        guard let document = try nextDocument(from: events) else { return nil }
        let next = try events.next()
        if case .documentStart = next.kind {
            throw YAMLError(mark: next.mark, problem: "but found another document",
                            context: YAMLError.Context(text: "expected a single document in the stream", mark: YAMLMark(line: 1, column: 1)))
        }
        return document
    }

    /// The next document's root, or nil at the end of the stream.
    private static func nextDocument(from events: EventReader) throws(YAMLError) -> YAMLNode? {
        var event = try events.next()
        if case .streamStart = event.kind { event = try events.next() }
        switch event.kind {
        case .streamEnd: return nil
        case .documentStart: break
        default: throw YAMLError(mark: event.mark, problem: "expected the start of a document")
        }
        var composer = Composer()
        while true {
            event = try events.next()
            if case .documentEnd = event.kind { break }
            try composer.add(event)
        }
        guard let root = composer.root else {
            throw YAMLError(mark: event.mark, problem: "a document without content")
        }
        return root
    }
}

/// Builds one document's tree without recursion.
private struct Composer {
    private struct Frame {
        var isMapping: Bool
        var tag: YAMLTag
        var mark: YAMLMark
        var anchor: String?
        var elements: [YAMLNode] = []
        var pairs: [YAMLPair] = []
        var key: YAMLNode?
    }

    private(set) var root: YAMLNode?
    private var stack: [Frame] = []
    private var anchors: [String: YAMLNode] = [:]
    private var anchorCount = 0

    mutating func add(_ event: Event) throws(YAMLError) {
        switch event.kind {
        case .alias(let name):
            guard let node = anchors[name] else {
                throw YAMLError(mark: event.mark, problem: "found undefined alias")
            }
            complete(node)
        case .scalar(let text, let style, let anchor, let tag):
            let resolved: YAMLTag
            switch tag {
            case nil, "?": resolved = style == .plain ? YAMLTag(resolvingPlain: text) : .str
            case "!": resolved = .str
            case let name?: resolved = YAMLTag(name: name)
            }
            complete(register(YAMLNode(content: .scalar(text, style), tag: resolved, mark: event.mark), as: anchor))
        case .sequenceStart(let anchor, let tag):
            stack.append(Frame(isMapping: false, tag: tag.map(YAMLTag.init(name:)) ?? .sequence, mark: event.mark, anchor: anchor))
        case .mappingStart(let anchor, let tag):
            stack.append(Frame(isMapping: true, tag: tag.map(YAMLTag.init(name:)) ?? .mapping, mark: event.mark, anchor: anchor))
        case .sequenceEnd:
            guard let frame = stack.popLast(), !frame.isMapping else {
                throw YAMLError(mark: event.mark, problem: "unexpected end of a sequence")
            }
            complete(register(YAMLNode(content: .sequence(frame.elements), tag: frame.tag, mark: frame.mark), as: frame.anchor))
        case .mappingEnd:
            guard let frame = stack.popLast(), frame.isMapping, frame.key == nil else {
                throw YAMLError(mark: event.mark, problem: "unexpected end of a mapping")
            }
            try Self.checkDuplicates(frame.pairs)
            complete(register(YAMLNode(content: .mapping(frame.pairs), tag: frame.tag, mark: frame.mark), as: frame.anchor))
        case .streamStart, .streamEnd, .documentStart, .documentEnd:
            throw YAMLError(mark: event.mark, problem: "unexpected event inside a document")
        }
    }

    /// Anchors are registered once their node is complete, so a node cannot alias itself.
    private mutating func register(_ node: YAMLNode, as anchor: String?) -> YAMLNode {
        guard let anchor else { return node }
        var node = node
        anchorCount += 1
        node.anchor = anchorCount
        anchors[anchor] = node
        return node
    }

    private mutating func complete(_ node: YAMLNode) {
        guard !stack.isEmpty else {
            root = node
            return
        }
        let last = stack.count - 1
        if !stack[last].isMapping {
            stack[last].elements.append(node)
        } else if let key = stack[last].key {
            stack[last].pairs.append(YAMLPair(key: key, value: node))
            stack[last].key = nil
        } else {
            stack[last].key = node
        }
    }

    /// Scalar keys that repeat (same text and tag), named in the order of their first occurrence and
    /// reported at the earliest one.
    private static func checkDuplicates(_ pairs: [YAMLPair]) throws(YAMLError) {
        guard pairs.count > 1 else { return }
        struct Key: Hashable {
            var text: String
            var tag: YAMLTag
        }
        var firstIndex: [Key: Int] = [:]
        var repeated = Set<Int>()
        for (index, pair) in pairs.enumerated() {
            guard let text = pair.key.scalar?.text else { continue }
            let key = Key(text: text, tag: pair.key.tag)
            if let first = firstIndex[key] {
                repeated.insert(first)
            } else {
                firstIndex[key] = index
            }
        }
        guard let earliest = repeated.min() else { return }
        let names = repeated.sorted().compactMap { pairs[$0].key.scalar?.text }.map { "\"\($0)\"" }.joined(separator: ", ")
        throw YAMLError(mark: pairs[earliest].key.mark,
                        problem: "duplicate key\(repeated.count == 1 ? "" : "s") \(names) in a mapping")
    }
}

/// One LibYAML event, copied out of C memory.
struct Event {
    enum Kind {
        case streamStart
        case streamEnd
        case documentStart
        case documentEnd
        case alias(String)
        case scalar(String, YAMLScalarStyle, anchor: String?, tag: String?)
        case sequenceStart(anchor: String?, tag: String?)
        case sequenceEnd
        case mappingStart(anchor: String?, tag: String?)
        case mappingEnd
    }

    var kind: Kind
    var mark: YAMLMark
}

/// Owns a LibYAML parser and the input it reads; both need stable addresses.
final class EventReader {
    private let parser: UnsafeMutablePointer<yaml_parser_t>
    private let input: UnsafeMutableBufferPointer<UInt8>
    private let count: Int
    private let ready: Bool

    /// Copies `bytes` once, into memory LibYAML can keep pointing at.
    init(_ bytes: some Collection<UInt8>) {
        parser = .allocate(capacity: 1)
        input = .allocate(capacity: max(bytes.count, 1))
        count = bytes.count
        _ = input.initialize(from: bytes)
        ready = yaml_parser_initialize(parser) == 1
        if ready {
            yaml_parser_set_encoding(parser, YAML_UTF8_ENCODING)
            yaml_parser_set_input_string(parser, input.baseAddress, bytes.count)
        }
    }

    deinit {
        if ready { yaml_parser_delete(parser) }
        parser.deallocate()
        input.deallocate()
    }

    func next() throws(YAMLError) -> Event {
        guard ready else { throw YAMLError(mark: nil, problem: "cannot allocate a YAML parser") }
        var event = yaml_event_t()
        guard yaml_parser_parse(parser, &event) == 1 else { throw currentError() }
        defer { yaml_event_delete(&event) }
        let mark = YAMLMark(line: event.start_mark.line + 1, column: event.start_mark.column + 1)
        let kind: Event.Kind
        switch event.type {
        case YAML_STREAM_START_EVENT: kind = .streamStart
        case YAML_STREAM_END_EVENT: kind = .streamEnd
        case YAML_DOCUMENT_START_EVENT: kind = .documentStart
        case YAML_DOCUMENT_END_EVENT: kind = .documentEnd
        case YAML_ALIAS_EVENT: kind = .alias(string(event.data.alias.anchor) ?? "")
        case YAML_SCALAR_EVENT:
            let scalar = event.data.scalar
            let text = scalar.value.map { String(decoding: UnsafeBufferPointer(start: $0, count: scalar.length), as: UTF8.self) } ?? ""
            let style: YAMLScalarStyle
            switch scalar.style {
            case YAML_SINGLE_QUOTED_SCALAR_STYLE: style = .singleQuoted
            case YAML_DOUBLE_QUOTED_SCALAR_STYLE: style = .doubleQuoted
            case YAML_LITERAL_SCALAR_STYLE: style = .literal
            case YAML_FOLDED_SCALAR_STYLE: style = .folded
            default: style = .plain
            }
            kind = .scalar(text, style, anchor: string(scalar.anchor), tag: string(scalar.tag))
        case YAML_SEQUENCE_START_EVENT:
            kind = .sequenceStart(anchor: string(event.data.sequence_start.anchor), tag: string(event.data.sequence_start.tag))
        case YAML_SEQUENCE_END_EVENT: kind = .sequenceEnd
        case YAML_MAPPING_START_EVENT:
            kind = .mappingStart(anchor: string(event.data.mapping_start.anchor), tag: string(event.data.mapping_start.tag))
        case YAML_MAPPING_END_EVENT: kind = .mappingEnd
        default: throw YAMLError(mark: mark, problem: "unexpected YAML event")
        }
        return Event(kind: kind, mark: mark)
    }

    private func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        pointer.map { String(cString: $0) }
    }

    private func currentError() -> YAMLError {
        let state = parser.pointee
        var problem = state.problem.map { String(cString: $0) } ?? "unknown error"
        switch state.error {
        case YAML_MEMORY_ERROR:
            return YAMLError(mark: nil, problem: "out of memory")
        case YAML_READER_ERROR:
            return YAMLError(mark: position(ofByte: state.problem_offset), problem: problem)
        default:
            if problem.hasPrefix("Maximum nesting level reached") { problem = "nested more than 1000 levels deep" }
            let mark = YAMLMark(line: state.problem_mark.line + 1, column: state.problem_mark.column + 1)
            guard let context = state.context.map({ String(cString: $0) }) else {
                return YAMLError(mark: mark, problem: problem)
            }
            let contextMark = YAMLMark(line: state.context_mark.line + 1, column: state.context_mark.column + 1)
            return YAMLError(mark: mark, problem: problem, context: YAMLError.Context(text: context, mark: contextMark))
        }
    }

    private func position(ofByte offset: Int) -> YAMLMark {
        var line = 1
        var column = 1
        for byte in input.prefix(min(offset, count)) {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        return YAMLMark(line: line, column: column)
    }
}
