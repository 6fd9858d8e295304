import Testing
@testable import YAML

/// The hand-written matchers against Yams' default resolver patterns, as `Regex`: the oracle.
@Suite("YAML: resolver patterns")
struct YAMLPatternTests {
    nonisolated(unsafe) static let int = #/[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+/#
    nonisolated(unsafe) static let float = #/[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)/#
    nonisolated(unsafe) static let timestamp = #/[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?/#
    nonisolated(unsafe) static let bool = #/yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF/#

    /// Counts of (regex, matcher) disagreements, with the first few examples.
    static func disagreements(in candidates: [String]) -> [String] {
        var found: [String] = []
        for text in candidates {
            let bytes = Array(text.utf8)
            let pairs: [(String, Bool, Bool)] = [
                ("int", (try? int.wholeMatch(in: text)) != nil, YAMLPatterns.isInt(bytes)),
                ("float", (try? float.wholeMatch(in: text)) != nil, YAMLPatterns.isFloat(bytes)),
                ("timestamp", (try? timestamp.wholeMatch(in: text)) != nil, YAMLPatterns.isTimestamp(bytes)),
                ("bool", (try? bool.wholeMatch(in: text)) != nil, YAMLPatterns.isBool(text)),
            ]
            for (name, expected, actual) in pairs where expected != actual {
                found.append("\(name) \(String(reflecting: text)): regex \(expected), matcher \(actual)")
            }
            if found.count >= 10 { break }
        }
        return found
    }

    @Test("every string of up to 4 characters over the number alphabet")
    func exhaustiveShortStrings() {
        let alphabet: [String] = ["0", "1", "6", "9", "_", ":", ".", "-", "+", "e", "E", "x", "b", "o", "A"]
        var candidates: [String] = [""]
        var level: [String] = [""]
        for _ in 1...4 {
            level = level.flatMap { prefix in alphabet.map { prefix + $0 } }
            candidates += level
        }
        #expect(candidates.count == 1 + 15 + 225 + 3375 + 50625)
        #expect(Self.disagreements(in: candidates) == [])
    }

    @Test("seeded random strings shaped like timestamps, base-60 numbers and floats")
    func randomStrings() {
        var generator = SplitMix(seed: 0x5EED)
        let alphabets: [[Character]] = [
            Array("0123456789-:.TtZ +\t"),
            Array("0123459:._-+eE"),
            Array("0123456789-T:."),
        ]
        var candidates: [String] = []
        for index in 0..<30_000 {
            let alphabet = alphabets[index % alphabets.count]
            let length = Int(generator.next() % 26) + 5
            candidates.append(String((0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }))
        }
        #expect(Self.disagreements(in: candidates) == [])
    }

    @Test("hand-picked edge cases agree")
    func edgeCases() {
        let candidates = [
            "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10 -5", "2001-12-15T02:59:43.1Z", "2002-12-14",
            "2001-12-14 21:59:43.10", "2001-1-2 3:04:05", "2001-1-2\t\t3:04:05 Z", "2001-12-14T21:59:43.", "2001-12-14T21:59:43 ",
            "2001-12-14T21:59:43+05:3", "2001-12-14T21:59:43+055", "20011-12-14", "2001-123-14", "2001-12-14T",
            "190:20:30", "190:20:30.15", "1:60", "1:59:7", "-1:2", "+0b1_0", "0o", "0o7", "0x", "0xFf_", "08", "0_9",
            ".inf", "-.Inf", "+.INF", ".NaN", "-.nan", ".5", ".5e+3", ".5e3", "1e", "1e+", "1.e-5", "-1_000.5_E7",
            "yes", "YES", "yEs", "y", "on", "OFF", "nO",
        ]
        #expect(Self.disagreements(in: candidates) == [])
    }
}

/// A small deterministic generator, so the random test is the same on every run.
struct SplitMix {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
