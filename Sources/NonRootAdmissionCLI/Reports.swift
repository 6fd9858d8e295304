import AdmissionCore

/// The `text` format: a table, then the reasons and warnings under each row, then a summary.
struct TextReport {
    var rows: [ReviewRunner.Row]

    func render() -> String {
        var out = pad("DECISION", 12) + pad("KIND", 22) + pad("OPERATION", 11) + pad("NAMESPACE/NAME", 40) + "SOURCE\n"
        var counts: [String: Int] = [:]
        for row in rows {
            switch row {
            case .failed(let source, let reason):
                counts["unreadable", default: 0] += 1
                out += pad("unreadable", 12) + pad("-", 22) + pad("-", 11) + pad("-", 40) + source + "\n"
                out += "    error: \(reason)\n"
            case .decided(let source, let decision):
                counts[decision.outcome.rawValue, default: 0] += 1
                let object = decision.namespace.isEmpty ? decision.name : "\(decision.namespace)/\(decision.name)"
                out += pad(decision.outcome.rawValue, 12) + pad(decision.kind.isEmpty ? "-" : decision.kind, 22)
                    + pad(decision.operation, 11) + pad(object.isEmpty ? "-" : object, 40) + source + "\n"
                for sentence in decision.sentences {
                    out += "    \(sentence)\n"
                }
                for warning in decision.response.warnings where !warning.hasPrefix("would deny (dry-run): ") {
                    out += "    warning: \(warning)\n"
                }
                if let skip = decision.skipReason {
                    counts["not evaluated", default: 0] += 1
                    out += "    not evaluated: \(skip)\n"
                }
            }
        }
        let total = rows.count
        out += "\n\(total) \(total == 1 ? "review" : "reviews"): \(counts["allowed", default: 0]) allowed, \(counts["denied", default: 0]) denied, \(counts["would-deny", default: 0]) would deny (dry-run), \(counts["unreadable", default: 0]) unreadable, \(counts["not evaluated", default: 0]) not evaluated"
        return out
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}

/// The `junit` format: one test case per review; a denial is a failure, unreadable input an error,
/// a review that is not evaluated (kind without a pod spec, DELETE, …) is skipped with the reason.
struct JUnitReport {
    var name: String
    var rows: [ReviewRunner.Row]

    func render() -> String {
        var failures = 0
        var errors = 0
        var skipped = 0
        var cases = ""
        for row in rows {
            switch row {
            case .failed(let source, let reason):
                errors += 1
                cases += "    <testcase classname=\"unreadable\" name=\"\(xml(source))\">\n"
                cases += "      <error message=\"\(xml(reason))\">\(xml(reason))</error>\n    </testcase>\n"
            case .decided(let source, let decision):
                let object = decision.namespace.isEmpty ? decision.name : "\(decision.namespace)/\(decision.name)"
                let classname = decision.kind.isEmpty ? "object" : decision.kind
                cases += "    <testcase classname=\"\(xml(classname))\" name=\"\(xml(source))\(object.isEmpty ? "" : " " + xml(object))\">\n"
                if decision.outcome == .denied, let message = decision.message {
                    failures += 1
                    cases += "      <failure message=\"\(xml(message))\" type=\"denied\">\(xml(message))</failure>\n"
                }
                if let skip = decision.skipReason {
                    skipped += 1
                    cases += "      <skipped message=\"\(xml("not evaluated: " + skip))\"/>\n"
                }
                let output = decision.response.warnings.joined(separator: "\n")
                if !output.isEmpty {
                    cases += "      <system-out>\(xml(output))</system-out>\n"
                }
                cases += "    </testcase>\n"
            }
        }
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<testsuites name=\"\(xml(name))\" tests=\"\(rows.count)\" failures=\"\(failures)\" errors=\"\(errors)\" skipped=\"\(skipped)\">\n"
        out += "  <testsuite name=\"\(xml(name))\" tests=\"\(rows.count)\" failures=\"\(failures)\" errors=\"\(errors)\" skipped=\"\(skipped)\">\n"
        out += cases
        out += "  </testsuite>\n</testsuites>"
        return out
    }

    /// Escapes XML text and drops characters XML 1.0 forbids.
    private func xml(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || (0xFFFE...0xFFFF).contains(scalar.value) { continue }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
