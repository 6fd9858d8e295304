import JSON

/// How Go's `encoding/json` finds a struct field: the last member whose name equals the field's
/// under Unicode simple case folding (ASCII letters, plus `ſ` for s and the Kelvin sign for k).
enum GoJSON {
    static func field(_ object: JSONValue, _ name: String) -> JSONValue? {
        let wanted = fold(name)
        var found: JSONValue?
        for member in object.members where member.key.unicodeScalars.count == name.unicodeScalars.count {
            if member.key == name || fold(member.key) == wanted { found = member.value }
        }
        return found
    }

    static func fold(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar {
            case "A"..."Z": out.append(Unicode.Scalar(scalar.value + 32)!)
            case "\u{017F}": out.append("s")
            case "\u{212A}": out.append("k")
            default: out.append(scalar)
            }
        }
        return String(out)
    }
}
