import TestSupport
import Foundation

/// Enough of the Dockerfile syntax to check the instructions the tests care about: comments,
/// line continuations, stages, and `$VAR`/`${VAR}` substitution from ENV and ARG (as Docker does
/// for USER, EXPOSE, FROM and friends).
struct Dockerfile {
    struct Instruction {
        var keyword: String
        var arguments: String
        var line: Int
    }

    struct Stage {
        var from: Instruction
        var image: String
        var name: String?
        var instructions: [Instruction] = []
    }

    var instructions: [Instruction] = []
    /// ARGs before the first FROM, usable in FROM lines.
    var globalArguments: [String: String] = [:]
    var stages: [Stage] = []

    init(_ text: String) {
        var logical = ""
        var startLine = 0
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("#") { continue }
            if logical.isEmpty {
                if line.isEmpty { continue }
                startLine = index + 1
            }
            if line.hasSuffix("\\") {
                logical += line.dropLast() + " "
                continue
            }
            logical += line
            let parts = logical.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            if let keyword = parts.first {
                instructions.append(Instruction(keyword: keyword.uppercased(), arguments: parts.count > 1 ? String(parts[1]).trimmingCharacters(in: .whitespaces) : "", line: startLine))
            }
            logical = ""
        }
        for instruction in instructions {
            if instruction.keyword == "FROM" {
                let words = instruction.arguments.split(separator: " ").map(String.init).filter { !$0.hasPrefix("--") }
                let image = Dockerfile.substitute(words.first ?? "", globalArguments)
                let name = words.count >= 3 && words[1].uppercased() == "AS" ? words[2] : nil
                stages.append(Stage(from: instruction, image: image, name: name))
            } else if stages.isEmpty {
                if instruction.keyword == "ARG" {
                    for (key, value) in Dockerfile.assignments(instruction.arguments) { globalArguments[key] = value }
                }
            } else {
                stages[stages.count - 1].instructions.append(instruction)
            }
        }
    }

    /// `KEY=value KEY2="v 2"` or the legacy `KEY value`.
    static func assignments(_ text: String) -> [(String, String)] {
        if !text.contains("="), let space = text.firstIndex(of: " ") {
            return [(String(text[..<space]), text[text.index(after: space)...].trimmingCharacters(in: .whitespaces))]
        }
        return text.split(separator: " ").compactMap { pair in
            guard let equals = pair.firstIndex(of: "=") else { return (String(pair), "") }
            let value = pair[pair.index(after: equals)...].trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
            return (String(pair[..<equals]), value)
        }
    }

    /// Replaces `$NAME` and `${NAME}` with their values (unknown names become empty, as in Docker).
    static func substitute(_ text: String, _ variables: [String: String]) -> String {
        var result = ""
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            guard character == "$" else {
                result.append(character)
                index = text.index(after: index)
                continue
            }
            var nameStart = text.index(after: index)
            var braced = false
            if nameStart < text.endIndex, text[nameStart] == "{" {
                braced = true
                nameStart = text.index(after: nameStart)
            }
            var nameEnd = nameStart
            while nameEnd < text.endIndex, text[nameEnd].isLetter || text[nameEnd].isNumber || text[nameEnd] == "_" {
                nameEnd = text.index(after: nameEnd)
            }
            result += variables[String(text[nameStart..<nameEnd])] ?? ""
            index = nameEnd
            if braced, index < text.endIndex, text[index] == "}" { index = text.index(after: index) }
        }
        return result
    }

    /// The stage an image is built from last: the runtime image.
    var finalStage: Stage? { stages.last }

    /// The variables ENV and ARG define in a stage up to (not including) instruction `limit`.
    func variables(in stage: Stage, before limit: Int? = nil) -> [String: String] {
        var result = globalArguments
        for (offset, instruction) in stage.instructions.enumerated() {
            if let limit, offset >= limit { break }
            if instruction.keyword == "ENV" || instruction.keyword == "ARG" {
                for (key, value) in Dockerfile.assignments(instruction.arguments) {
                    result[key] = Dockerfile.substitute(value, result)
                }
            }
        }
        return result
    }

    /// The last USER of the final stage, with its variables expanded.
    var finalUser: (written: String, resolved: String)? {
        guard let stage = finalStage, let index = stage.instructions.lastIndex(where: { $0.keyword == "USER" }) else { return nil }
        let written = stage.instructions[index].arguments
        return (written, Dockerfile.substitute(written, variables(in: stage, before: index)))
    }
}
