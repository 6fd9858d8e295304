/// Go's `%q` of a string (`strconv.Quote`): double quotes, with Go escapes for quotes, backslashes,
/// and characters that are not printable.
public func goQuote(_ text: String) -> String {
    // Names, namespaces, UIDs and references are printable ASCII without quotes or backslashes, which Go
    // writes as they are: one scan of the bytes and one copy. Appending scalar by scalar to a String cost
    // about 500 instructions a character, 38k for a denial's `(pod: %q, …)` suffix.
    var contiguous = text
    let plain = contiguous.withUTF8 { bytes in
        bytes.allSatisfy { $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
    }
    if plain {
        var out = ""
        out.reserveCapacity(text.utf8.count + 2)
        out.append("\"")
        out.append(text)
        out.append("\"")
        return out
    }
    var out: [UInt8] = []
    out.reserveCapacity(text.utf8.count + 16)
    out.append(UInt8(ascii: "\""))
    func escape(_ letter: Unicode.Scalar) {
        out.append(UInt8(ascii: "\\"))
        out.append(UInt8(ascii: letter))
    }
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": escape("\"")
        case "\\": escape("\\")
        case "\u{07}": escape("a")
        case "\u{08}": escape("b")
        case "\u{0C}": escape("f")
        case "\n": escape("n")
        case "\r": escape("r")
        case "\t": escape("t")
        case "\u{0B}": escape("v")
        default:
            if scalar.value < 0x20 || scalar.value == 0x7F {
                out.append(contentsOf: "\\x\(hex(scalar.value, 2))".utf8)
            } else if scalar.value < 0x80 {
                out.append(UInt8(truncatingIfNeeded: scalar.value))
            } else if isGoPrintable(scalar), let units = UTF8.encode(scalar) {
                out.append(contentsOf: units)
            } else if scalar.value < 0x10000 {
                out.append(contentsOf: "\\u\(hex(scalar.value, 4))".utf8)
            } else {
                out.append(contentsOf: "\\U\(hex(scalar.value, 8))".utf8)
            }
        }
    }
    out.append(UInt8(ascii: "\""))
    return String(decoding: out, as: UTF8.self)
}

/// `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space.
private func isGoPrintable(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.properties.generalCategory {
    case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator, .spaceSeparator:
        return false
    default:
        return true
    }
}

private func hex(_ value: UInt32, _ width: Int) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}
