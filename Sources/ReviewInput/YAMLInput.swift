import AdmissionModel
import JSON
import YAML

/// Multi-document YAML, converted document by document to JSON text.
enum YAMLInput {
    /// The most JSON one YAML document may expand to (aliases can multiply a small text). The
    /// decision pipeline refuses larger reviews anyway.
    static let maximumDocumentBytes = 64 << 20

    static func read(_ bytes: [UInt8], into collector: inout DocumentCollector) {
        var body = bytes[...]
        if body.count >= 3, body[0] == 0xEF, body[1] == 0xBB, body[2] == 0xBF { body = body.dropFirst(3) }
        if let invalid = firstInvalidUTF8(body) {
            let (line, column) = position(ofByte: invalid, in: body)
            collector.stop(line: line, column: column, reason: "not UTF-8 text: invalid byte 0x\(hex(body[body.startIndex + invalid]))")
            return
        }
        let (documents, error) = YAMLParser.documents(in: body)
        for node in documents {
            // `---` with nothing (or only comments) after it, or an explicit null.
            if node.scalar != nil, node.isNull { continue }
            var converter = Converter()
            let json: [UInt8]
            do {
                json = try converter.convert(node)
            } catch {
                collector.addUnreadable(line: error.mark?.line, column: error.mark?.column, reason: error.reason)
                continue
            }
            // The parser refuses repeated keys of one tag; keys of different tags with the same
            // text (`1` and `'1'`) become one JSON name, and are refused here.
            switch JSONInput.parse(json) {
            case .success(let document):
                collector.add(document.root)
            case .failure(let failure):
                collector.addUnreadable(line: node.mark.line, column: node.mark.column,
                                        reason: "cannot use this YAML document: \(failure.error.reason)")
            }
        }
        if let error {
            collector.stop(line: error.mark?.line, column: error.mark?.column, reason: "invalid YAML: \(error)")
        }
    }

    // MARK: - Positions

    /// Offset of the first byte that is not part of valid UTF-8, or nil.
    static func firstInvalidUTF8(_ bytes: ArraySlice<UInt8>) -> Int? {
        var iterator = bytes.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded): offset += encoded.count
            case .emptyInput: return nil
            case .error: return offset
            }
        }
    }

    private static func position(ofByte offset: Int, in bytes: ArraySlice<UInt8>) -> (Int, Int) {
        var line = 1
        var column = 1
        for byte in bytes.prefix(offset) {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return (line, column)
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
    }
}

/// Why a YAML document cannot be turned into JSON, and where.
struct YAMLConversionError: Error {
    var mark: YAMLMark?
    var reason: String
}

/// YAML node → compact JSON, the way Kubernetes reads YAML (YAML 1.1 scalars, merge keys).
///
/// - mapping → object; keys must be scalars and are written as their text; `<<` merge keys are
///   applied (keys of the mapping itself win, then earlier merged mappings over later ones);
/// - sequence → array;
/// - scalar, by its resolved tag: null → `null`; bool (`true`, `yes`, `on`...) → `true`/`false`;
///   int (`1000`, `0x1F`, `017` octal, `1_000`) → the integer; float → the number, `.nan` and `.inf`
///   as strings since JSON has no such numbers; anything else (str, timestamp, binary, custom
///   tags) → the scalar's text. Quoted scalars are strings.
///
/// Anchored nodes are converted once and their JSON reused for every alias, and the output is
/// bounded, so an alias bomb costs little and ends in an error.
struct Converter {
    private var emitted = 0
    private var anchored: [Int: [UInt8]] = [:]

    mutating func convert(_ node: YAMLNode) throws(YAMLConversionError) -> [UInt8] {
        var writer = JSONWriter(capacity: 1024)
        try write(node, to: &writer)
        return writer.bytes
    }

    private mutating func count(_ bytes: Int, at node: YAMLNode) throws(YAMLConversionError) {
        emitted += bytes
        if emitted > YAMLInput.maximumDocumentBytes {
            throw YAMLConversionError(mark: node.mark, reason: "YAML document expands to more than \(YAMLInput.maximumDocumentBytes >> 20) MiB of JSON (aliases?)")
        }
    }

    private mutating func write(_ node: YAMLNode, to writer: inout JSONWriter) throws(YAMLConversionError) {
        guard let anchor = node.anchor else {
            try writeContent(node, to: &writer)
            return
        }
        if let cached = anchored[anchor] {
            try count(cached.count, at: node)
            writer.raw(cached)
            return
        }
        var inner = JSONWriter(capacity: 256)
        try writeContent(node, to: &inner)
        anchored[anchor] = inner.bytes
        writer.raw(inner.bytes)
    }

    private mutating func writeContent(_ node: YAMLNode, to writer: inout JSONWriter) throws(YAMLConversionError) {
        switch node.content {
        case .scalar(let text, _):
            try writeScalar(text, node: node, to: &writer)
        case .sequence(let elements):
            try count(2, at: node)
            writer.beginArray()
            for element in elements {
                try write(element, to: &writer)
            }
            writer.endArray()
        case .mapping(let mapping):
            try count(2, at: node)
            writer.beginObject()
            for (key, value) in try pairs(of: mapping, node: node) {
                try count(key.utf8.count + 3, at: node)
                writer.key(key)
                try write(value, to: &writer)
            }
            writer.endObject()
        }
    }

    /// The mapping's pairs with merge keys applied and keys as text.
    private func pairs(of mapping: [YAMLPair], node: YAMLNode, depth: Int = 0) throws(YAMLConversionError) -> [(String, YAMLNode)] {
        var own: [(String, YAMLNode)] = []
        var merged: [YAMLNode] = []
        for pair in mapping {
            guard let (text, style) = pair.key.scalar else {
                let kind = pair.key.pairs != nil ? "mapping" : "sequence"
                throw YAMLConversionError(mark: pair.key.mark, reason: "cannot use this YAML document: a mapping key must be a scalar, not a \(kind)")
            }
            if style == .plain, pair.key.tag == .merge {
                merged.append(pair.value)
            } else {
                own.append((text, pair.value))
            }
        }
        guard !merged.isEmpty else { return own }
        guard depth < 64 else {
            throw YAMLConversionError(mark: node.mark, reason: "cannot use this YAML document: merge keys nest too deep")
        }

        var seen = Set(own.map(\.0))
        var result: [(String, YAMLNode)] = []
        for value in merged {
            for source in value.elements ?? [value] {
                guard let sourcePairs = source.pairs else {
                    throw YAMLConversionError(mark: source.mark, reason: "cannot use this YAML document: a merge key (<<) needs a mapping or a list of mappings")
                }
                for (key, value) in try pairs(of: sourcePairs, node: source, depth: depth + 1) where !seen.contains(key) {
                    seen.insert(key)
                    result.append((key, value))
                }
            }
        }
        return result + own
    }

    private mutating func writeScalar(_ text: String, node: YAMLNode, to writer: inout JSONWriter) throws(YAMLConversionError) {
        try count(text.utf8.count + 2, at: node)
        switch node.tag {
        case .null:
            writer.null()
        case .bool:
            if let value = node.boolValue { writer.bool(value) } else { writer.string(text) }
        case .int:
            if let value = node.intValue {
                writer.int(value)
            } else if isJSONNumber(text) {
                writer.raw(text.utf8)
            } else if let value = node.doubleValue, value.isFinite {
                writer.raw(String(value).utf8)
            } else {
                writer.string(text)
            }
        case .float:
            if isJSONNumber(text) {
                writer.raw(text.utf8)
            } else if let value = node.doubleValue, value.isFinite {
                writer.raw(String(value).utf8)
            } else {
                writer.string(text)
            }
        default:
            writer.string(text)
        }
    }
}

/// True when `text` is a number as JSON writes it (RFC 8259), so it can be copied verbatim.
func isJSONNumber(_ text: String) -> Bool {
    let bytes = Array(text.utf8)
    var i = 0
    let count = bytes.count
    func digit(_ at: Int) -> Bool { at < count && bytes[at] >= UInt8(ascii: "0") && bytes[at] <= UInt8(ascii: "9") }
    if i < count, bytes[i] == UInt8(ascii: "-") { i += 1 }
    guard digit(i) else { return false }
    if bytes[i] == UInt8(ascii: "0") {
        i += 1
    } else {
        while digit(i) { i += 1 }
    }
    if i < count, bytes[i] == UInt8(ascii: ".") {
        i += 1
        guard digit(i) else { return false }
        while digit(i) { i += 1 }
    }
    if i < count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
        i += 1
        if i < count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard digit(i) else { return false }
        while digit(i) { i += 1 }
    }
    return i == count
}
