/// YAML 1.1 scalar resolution and construction, as Kubernetes' YAML reader and Yams apply them:
/// `yes`/`on` are booleans, `0755` is octal, `0x1F` hex, `1_000` an int, `190:20:30` base 60.
extension YAMLTag {
    private static let core = "tag:yaml.org,2002:"

    /// The tag for an explicit tag name, as LibYAML expands it (`!!int` → `tag:yaml.org,2002:int`).
    public init(name: String) {
        guard name.hasPrefix(Self.core) else {
            self = .other(name)
            return
        }
        switch name.dropFirst(Self.core.count) {
        case "null": self = .null
        case "bool": self = .bool
        case "int": self = .int
        case "float": self = .float
        case "merge": self = .merge
        case "timestamp": self = .timestamp
        case "value": self = .value
        case "str": self = .str
        case "seq": self = .sequence
        case "map": self = .mapping
        default: self = .other(name)
        }
    }

    /// The tag of a plain scalar without an explicit tag: the first YAML 1.1 pattern it matches,
    /// in Yams' order (bool, int, float, merge, null, timestamp, value), else `str`.
    public init(resolvingPlain text: String) {
        // Every non-string pattern starts with one of these bytes, or is empty.
        guard let first = text.utf8.first else {
            self = .null
            return
        }
        switch first {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."),
             UInt8(ascii: "~"), UInt8(ascii: "<"), UInt8(ascii: "="),
             UInt8(ascii: "y"), UInt8(ascii: "Y"), UInt8(ascii: "n"), UInt8(ascii: "N"), UInt8(ascii: "t"),
             UInt8(ascii: "T"), UInt8(ascii: "f"), UInt8(ascii: "F"), UInt8(ascii: "o"), UInt8(ascii: "O"):
            break
        default:
            self = .str
            return
        }
        if (try? YAMLPatterns.bool.wholeMatch(in: text)) != nil {
            self = .bool
        } else if (try? YAMLPatterns.int.wholeMatch(in: text)) != nil {
            self = .int
        } else if (try? YAMLPatterns.float.wholeMatch(in: text)) != nil {
            self = .float
        } else if text == "<<" {
            self = .merge
        } else if ["~", "null", "Null", "NULL"].contains(text) {
            self = .null
        } else if (try? YAMLPatterns.timestamp.wholeMatch(in: text)) != nil {
            self = .timestamp
        } else if text == "=" {
            self = .value
        } else {
            self = .str
        }
    }
}

/// Yams' default resolver patterns, unchanged.
private enum YAMLPatterns {
    nonisolated(unsafe) static let bool = #/yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF/#
    nonisolated(unsafe) static let int = #/[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+/#
    nonisolated(unsafe) static let float = #/[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)/#
    nonisolated(unsafe) static let timestamp = #/[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?/#
}

extension YAMLNode {
    /// The boolean a scalar spells (`true`, `yes`, `on`... in any case), unless tagged `!!str`.
    public var boolValue: Bool? {
        guard tag != .str, let (text, _) = scalar else { return nil }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: return nil
        }
    }

    /// The integer a plain scalar spells: decimal, `0x`, `0b`, `0o` or leading-`0` octal, base 60,
    /// with `_` separators. Nil when it does not fit an `Int`.
    public var intValue: Int? {
        guard let (text, style) = scalar, style == .plain else { return nil }
        let digits = text.filter { $0 != "_" }
        let negative = digits.hasPrefix("-")
        let signed = negative || digits.hasPrefix("+")
        let body = digits.dropFirst(signed ? 1 : 0)
        if body == "0" { return 0 }
        for (prefix, radix) in [("0x", 16), ("0b", 2), ("0o", 8), ("0", 8)] where body.hasPrefix(prefix) {
            return Int((negative ? "-" : "") + body.dropFirst(prefix.count), radix: radix)
        }
        if body.contains(":") { return sexagesimalInt(digits) }
        return Int(digits)
    }

    /// The number a plain scalar spells, including `.inf`, `-.inf`, `.nan` and base 60.
    public var doubleValue: Double? {
        guard let (text, style) = scalar, style == .plain else { return nil }
        switch text.lowercased() {
        case ".inf", "+.inf": return .infinity
        case "-.inf": return -.infinity
        case ".nan": return .nan
        default:
            let digits = text.filter { $0 != "_" }
            if digits.contains(":") { return sexagesimalDouble(digits) }
            return Double(digits)
        }
    }
}

/// `[-+]a:b:c` = a·60² + b·60 + c; nil when a part does not parse or the value overflows.
private func sexagesimalInt(_ text: String) -> Int? {
    let (negative, parts) = sexagesimalParts(text)
    var value = 0
    for part in parts {
        guard let digit = Int(part, radix: 10) else { return nil }
        let (shifted, overflow) = value.multipliedReportingOverflow(by: 60)
        let (sum, carry) = shifted.addingReportingOverflow(digit)
        guard !overflow, !carry else { return nil }
        value = sum
    }
    return negative ? -value : value
}

private func sexagesimalDouble(_ text: String) -> Double? {
    let (negative, parts) = sexagesimalParts(text)
    var value = 0.0
    for part in parts {
        guard let digit = Double(part) else { return nil }
        value = value * 60 + digit
    }
    return negative ? -value : value
}

private func sexagesimalParts(_ text: String) -> (negative: Bool, parts: [Substring]) {
    var body = Substring(text)
    let negative = body.hasPrefix("-")
    if negative || body.hasPrefix("+") { body = body.dropFirst() }
    return (negative, body.split(separator: ":", omittingEmptySubsequences: false))
}
