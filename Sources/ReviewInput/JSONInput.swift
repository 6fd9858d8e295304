import AdmissionModel
import JSON

/// JSON, JSON Lines and JSON text sequences (concatenated values, e.g. `kubectl get -w -o json`).
enum JSONInput {
    /// Parse limits for input files: the file-size limit, and the model's usual nesting limit.
    static let limits = JSONLimits(maximumBytes: InputReader.maximumFileSize)

    /// A `.json` file: one value. If data follows the first value, the file is read as JSON Lines
    /// or, when its first line is not a complete value (pretty-printed values one after another),
    /// as a sequence of concatenated values.
    static func readJSON(_ bytes: [UInt8], into collector: inout DocumentCollector) {
        guard !isBlank(bytes[...]) else { return }
        switch parse(bytes) {
        case .success(let document):
            collector.add(document.root)
        case .failure(.invalid(let error)) where error.reason.hasPrefix("unexpected data after"):
            if firstLineIsComplete(bytes) {
                readLines(bytes, into: &collector)
            } else {
                readSequence(bytes, into: &collector)
            }
        case .failure(let failure):
            collector.stop(line: failure.error.line, column: failure.error.column, reason: failure.reason)
        }
    }

    /// Why one JSON value of an input file cannot be used.
    enum Failure: Error {
        /// Not JSON.
        case invalid(JSONParseError)
        /// JSON, but an object repeats a key: Go and the apiserver would merge the members while
        /// we would keep the last, so the file could mean two objects. Never guessed at.
        case duplicateKey(JSONParseError)

        var error: JSONParseError {
            switch self {
            case .invalid(let error), .duplicateKey(let error): error
            }
        }

        /// The reason for the user: `invalid JSON: …` or `duplicate key "spec"`.
        var reason: String {
            switch self {
            case .invalid(let error): "invalid JSON: \(error.reason)"
            case .duplicateKey(let error): error.reason
            }
        }
    }

    /// Parses one value of an input file and refuses duplicate keys at any depth.
    static func parse(_ bytes: [UInt8]) -> Result<JSONDocument, Failure> {
        let document: JSONDocument
        do {
            document = try JSONDocument(parsing: bytes, limits: limits)
        } catch {
            return .failure(.invalid(error))
        }
        if let duplicate = document.firstDuplicateKey() { return .failure(.duplicateKey(duplicate)) }
        return .success(document)
    }

    /// JSON Lines: every non-blank line is one value. A bad line is reported with its line and
    /// column, and reading goes on with the next line.
    static func readLines(_ bytes: [UInt8], into collector: inout DocumentCollector) {
        var lineNumber = 0
        var start = 0
        let count = bytes.count
        while start < count {
            lineNumber += 1
            var end = start
            while end < count, bytes[end] != UInt8(ascii: "\n") { end += 1 }
            let line = bytes[start..<end]
            start = end + 1
            guard !isBlank(line) else { continue }
            switch parse(Array(line)) {
            case .success(let document):
                collector.add(document.root)
            case .failure(let failure):
                collector.addUnreadable(line: lineNumber, column: failure.error.column, reason: failure.reason)
            }
        }
    }

    /// Values one after another, separated by optional white space. Each value's extent is found
    /// by matching brackets outside strings, then the value is parsed on its own.
    static func readSequence(_ bytes: [UInt8], into collector: inout DocumentCollector) {
        let count = bytes.count
        var position = skipSpace(bytes, from: 0)
        // Line and column of `position`, kept up to date in one pass.
        var line = 1
        var lineStart = 0
        var scanned = 0
        while position < count {
            while scanned < position {
                if bytes[scanned] == UInt8(ascii: "\n") {
                    line += 1
                    lineStart = scanned + 1
                }
                scanned += 1
            }
            let end = valueEnd(bytes, from: position)
            switch parse(Array(bytes[position..<end])) {
            case .success(let document):
                collector.add(document.root)
            case .failure(let failure):
                let error = failure.error
                let errorLine = line + error.line - 1
                let errorColumn = error.line == 1 ? position - lineStart + error.column : error.column
                collector.addUnreadable(line: errorLine, column: errorColumn, reason: failure.reason)
            }
            position = skipSpace(bytes, from: end)
        }
    }

    /// True when the first non-blank line of `bytes` is one complete JSON value.
    private static func firstLineIsComplete(_ bytes: [UInt8]) -> Bool {
        var start = 0
        let count = bytes.count
        while start < count {
            var end = start
            while end < count, bytes[end] != UInt8(ascii: "\n") { end += 1 }
            let line = bytes[start..<end]
            if !isBlank(line) {
                return (try? JSONDocument(parsing: Array(line), limits: limits)) != nil
            }
            start = end + 1
        }
        return false
    }

    /// The end of the value starting at `start`: after its matching bracket, its closing quote,
    /// or, for a literal or number, before the next white space or bracket. The end of the text
    /// when the value is not closed.
    static func valueEnd(_ bytes: [UInt8], from start: Int) -> Int {
        let count = bytes.count
        var i = start
        switch bytes[start] {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            while i < count {
                switch bytes[i] {
                case UInt8(ascii: "\""):
                    i = stringEnd(bytes, from: i)
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { return i + 1 }
                default:
                    break
                }
                i += 1
            }
            return count
        case UInt8(ascii: "\""):
            return stringEnd(bytes, from: start)
        default:
            while i < count {
                switch bytes[i] {
                case 0x20, 0x09, 0x0A, 0x0D, UInt8(ascii: "{"), UInt8(ascii: "["), UInt8(ascii: "\""):
                    return i == start ? i + 1 : i
                default:
                    i += 1
                }
            }
            return count
        }
    }

    /// Just past the closing quote of the string whose opening quote is at `start`.
    private static func stringEnd(_ bytes: [UInt8], from start: Int) -> Int {
        let count = bytes.count
        var i = start + 1
        while i < count {
            switch bytes[i] {
            case UInt8(ascii: "\\"): i += 2
            case UInt8(ascii: "\""): return i + 1
            default: i += 1
            }
        }
        return count
    }

    static func skipSpace(_ bytes: [UInt8], from start: Int) -> Int {
        var i = start
        while i < bytes.count {
            switch bytes[i] {
            case 0x20, 0x09, 0x0A, 0x0D: i += 1
            case 0xEF where i == 0 && bytes.count >= 3 && bytes[1] == 0xBB && bytes[2] == 0xBF: i += 3
            default: return i
            }
        }
        return i
    }

    /// Only white space (and a byte order mark).
    static func isBlank(_ bytes: ArraySlice<UInt8>) -> Bool {
        var i = bytes.startIndex
        if bytes.count >= 3, bytes[i] == 0xEF, bytes[i + 1] == 0xBB, bytes[i + 2] == 0xBF { i += 3 }
        while i < bytes.endIndex {
            switch bytes[i] {
            case 0x20, 0x09, 0x0A, 0x0D: i += 1
            default: return false
            }
        }
        return true
    }
}
