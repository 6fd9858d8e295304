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
        let bytes = Array(text.utf8)
        if YAMLPatterns.isBool(text) {
            self = .bool
        } else if YAMLPatterns.isInt(bytes) {
            self = .int
        } else if YAMLPatterns.isFloat(bytes) {
            self = .float
        } else if text == "<<" {
            self = .merge
        } else if ["~", "null", "Null", "NULL"].contains(text) {
            self = .null
        } else if YAMLPatterns.isTimestamp(bytes) {
            self = .timestamp
        } else if text == "=" {
            self = .value
        } else {
            self = .str
        }
    }
}

/// Yams' default resolver patterns as hand-written matchers over bytes. Each matches the whole text,
/// exactly as the regular expression in its comment does; `YAMLPatternTests` checks them against
/// those expressions. Not `Regex`: it is slower, and compiles its program lazily into memory that
/// LeakSanitizer reports under the fuzzer.
enum YAMLPatterns {
    /// `yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF`
    static func isBool(_ text: String) -> Bool {
        switch text {
        case "yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE",
             "on", "On", "ON", "off", "Off", "OFF":
            return true
        default:
            return false
        }
    }

    /// `[-+]?0b[0-1_]+ | [-+]?0o?[0-7_]+ | [-+]?(?:0|[1-9][0-9_]*) | [-+]?0x[0-9a-fA-F_]+
    /// | [-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+`
    static func isInt(_ bytes: [UInt8]) -> Bool {
        var start = Scanner(bytes)
        start.skipSign()
        var binary = start
        if binary.take("0"), binary.take("b"), binary.takeAll(isBinaryDigitOrUnderscore) > 0, binary.atEnd { return true }
        var octal = start
        if octal.take("0") {
            _ = octal.take("o")
            if octal.takeAll(isOctalDigitOrUnderscore) > 0, octal.atEnd { return true }
        }
        var decimal = start
        if decimal.take("0"), decimal.atEnd { return true }
        decimal = start
        if decimal.take(where: isNonZeroDigit) {
            decimal.takeAll(isDigitOrUnderscore)
            if decimal.atEnd { return true }
            if decimal.takeSexagesimalGroups(), decimal.atEnd { return true }
        }
        var hex = start
        if hex.take("0"), hex.take("x"), hex.takeAll(isHexDigitOrUnderscore) > 0, hex.atEnd { return true }
        return false
    }

    /// `[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)? | \.[0-9_]+(?:[eE][-+][0-9]+)?
    /// | [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]* | [-+]?\.(?:inf|Inf|INF) | \.(?:nan|NaN|NAN)`
    static func isFloat(_ bytes: [UInt8]) -> Bool {
        var start = Scanner(bytes)
        start.skipSign()
        var plain = start
        if plain.take(where: isDigit) {
            plain.takeAll(isDigitOrUnderscore)
            var sexagesimal = plain
            if plain.take(".") { plain.takeAll(isDigitOrUnderscore) }
            if plain.take("e") || plain.take("E") {
                _ = plain.take("-") || plain.take("+")
                if plain.takeAll(isDigit) > 0, plain.atEnd { return true }
            } else if plain.atEnd {
                return true
            }
            if sexagesimal.takeSexagesimalGroups(), sexagesimal.take(".") {
                sexagesimal.takeAll(isDigitOrUnderscore)
                if sexagesimal.atEnd { return true }
            }
        }
        var fraction = Scanner(bytes)
        if fraction.take("."), fraction.takeAll(isDigitOrUnderscore) > 0 {
            if fraction.atEnd { return true }
            if fraction.take("e") || fraction.take("E"), fraction.take("-") || fraction.take("+"),
               fraction.takeAll(isDigit) > 0, fraction.atEnd {
                return true
            }
        }
        var infinity = start
        if infinity.take("."), infinity.takeWord(["inf", "Inf", "INF"]), infinity.atEnd { return true }
        var nan = Scanner(bytes)
        if nan.take("."), nan.takeWord(["nan", "NaN", "NAN"]), nan.atEnd { return true }
        return false
    }

    /// `[0-9]{4}-[0-9]{2}-[0-9]{2} | [0-9]{4}-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9]{2}:[0-9]{2}
    /// (?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9]{2})?))?`
    static func isTimestamp(_ bytes: [UInt8]) -> Bool {
        var date = Scanner(bytes)
        guard date.takeDigits(4...4), date.take("-") else { return false }
        var short = date
        if short.takeDigits(2...2), short.take("-"), short.takeDigits(2...2), short.atEnd { return true }
        guard date.takeDigits(1...2), date.take("-"), date.takeDigits(1...2) else { return false }
        if !(date.take("T") || date.take("t")) {
            guard date.takeAll(isBlank) > 0 else { return false }
        }
        guard date.takeDigits(1...2), date.take(":"), date.takeDigits(2...2), date.take(":"), date.takeDigits(2...2) else { return false }
        if date.take(".") { date.takeAll(isDigit) }
        if date.atEnd { return true }
        date.takeAll(isBlank)
        if date.take("Z") { return date.atEnd }
        guard date.take("-") || date.take("+"), date.takeDigits(1...2) else { return false }
        if date.atEnd { return true }
        return date.take(":") && date.takeDigits(2...2) && date.atEnd
    }
}

private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
private func isNonZeroDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "1") && byte <= UInt8(ascii: "9") }
private func isDigitOrUnderscore(_ byte: UInt8) -> Bool { isDigit(byte) || byte == UInt8(ascii: "_") }
private func isBinaryDigitOrUnderscore(_ byte: UInt8) -> Bool { byte == UInt8(ascii: "0") || byte == UInt8(ascii: "1") || byte == UInt8(ascii: "_") }
private func isOctalDigitOrUnderscore(_ byte: UInt8) -> Bool { (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "7")) || byte == UInt8(ascii: "_") }
private func isHexDigitOrUnderscore(_ byte: UInt8) -> Bool {
    isDigitOrUnderscore(byte) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "F"))
}
private func isBlank(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }

/// A position in a byte string; each `take` consumes only on success.
private struct Scanner {
    let bytes: [UInt8]
    var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { index == bytes.count }

    mutating func take(_ ascii: Unicode.Scalar) -> Bool {
        take { $0 == UInt8(ascii: ascii) }
    }

    mutating func take(where matches: (UInt8) -> Bool) -> Bool {
        guard index < bytes.count, matches(bytes[index]) else { return false }
        index += 1
        return true
    }

    @discardableResult
    mutating func takeAll(_ matches: (UInt8) -> Bool) -> Int {
        let start = index
        while index < bytes.count, matches(bytes[index]) { index += 1 }
        return index - start
    }

    /// Between `range.lowerBound` and `range.upperBound` digits, as many as there are (greedy, no
    /// backtracking: in every pattern here the digits are followed by a non-digit or the end).
    mutating func takeDigits(_ range: ClosedRange<Int>) -> Bool {
        var probe = self
        var count = 0
        while count < range.upperBound, probe.take(where: isDigit) { count += 1 }
        guard range.contains(count) else { return false }
        self = probe
        return true
    }

    mutating func skipSign() {
        _ = take("-") || take("+")
    }

    mutating func takeWord(_ words: [String]) -> Bool {
        for word in words {
            let utf8 = Array(word.utf8)
            if bytes.count - index >= utf8.count, Array(bytes[index..<(index + utf8.count)]) == utf8 {
                index += utf8.count
                return true
            }
        }
        return false
    }

    /// `(?::[0-5]?[0-9])+`: one or more groups of a colon and one digit, or two digits the first of
    /// which is 0-5.
    mutating func takeSexagesimalGroups() -> Bool {
        var groups = 0
        while true {
            var probe = self
            guard probe.take(":") else { break }
            let first = probe.index
            let digits = probe.takeAll(isDigit)
            guard digits == 1 || (digits == 2 && bytes[first] <= UInt8(ascii: "5")) else { break }
            self = probe
            groups += 1
        }
        return groups > 0
    }
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
