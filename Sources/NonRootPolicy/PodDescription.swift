public import AdmissionModel

/// What a message names: a pod as the kubelet prints it, or a workload's pod template.
public enum Subject: Sendable, Equatable {
    /// `format.Pod`: `NAME_NAMESPACE(UID)`.
    case pod(name: String, namespace: String, uid: String)
    /// A pod template of a workload, e.g. `Deployment` `shop/web`.
    case template(kind: PodSpecKind, namespace: String, name: String)

    /// The kubelet's ` (pod: %q, container: %s)`, or for a template ` (deployment: "ns/name", container: NAME)`.
    public func suffix(container: String) -> String {
        switch self {
        case .pod(let name, let namespace, let uid):
            return "(pod: \(goQuote("\(name)_\(namespace)(\(uid))")), container: \(container))"
        case .template(let kind, let namespace, let name):
            return "(\(kind.rawValue.lowercased()): \(goQuote("\(namespace)/\(name)")), container: \(container))"
        }
    }

    /// A short name for hints: `pod "web"` or `deployment "shop/web"`.
    public var shortName: String {
        switch self {
        case .pod(let name, _, _): "pod \(goQuote(name))"
        case .template(let kind, let namespace, let name): "\(kind.rawValue.lowercased()) \(goQuote("\(namespace)/\(name)"))"
        }
    }
}

/// Go's `%q` of a string (`strconv.Quote`): double quotes, with Go escapes for quotes, backslashes,
/// and characters that are not printable.
public func goQuote(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\u{07}": out += "\\a"
        case "\u{08}": out += "\\b"
        case "\u{0C}": out += "\\f"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case "\u{0B}": out += "\\v"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7F {
                out += "\\x" + hex(scalar.value, 2)
            } else if scalar.value < 0x80 || isGoPrintable(scalar) {
                out.unicodeScalars.append(scalar)
            } else if scalar.value < 0x10000 {
                out += "\\u" + hex(scalar.value, 4)
            } else {
                out += "\\U" + hex(scalar.value, 8)
            }
        }
    }
    return out + "\""
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
