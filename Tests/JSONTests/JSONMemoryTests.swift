import Synchronization
import Testing
@testable import JSON

/// A budget that counts what it holds and refuses past `limit`.
private final class CountingBudget: JSONMemoryBudget {
    let limit: Int
    let held = Atomic<Int>(0)
    let peak = Atomic<Int>(0)

    init(limit: Int) { self.limit = limit }

    func reserve(_ bytes: Int) -> Bool {
        let now = held.add(bytes, ordering: .relaxed).newValue
        guard now <= limit else {
            held.subtract(bytes, ordering: .relaxed)
            return false
        }
        _ = peak.max(now, ordering: .relaxed)
        return true
    }

    func release(_ bytes: Int) { held.subtract(bytes, ordering: .relaxed) }
}

@Suite("JSON reader: tape memory")
struct JSONMemoryTests {
    /// `[0,0,…]` with `count` values: one node per 2 bytes, the densest JSON there is.
    static func dense(_ count: Int) -> [UInt8] {
        var bytes: [UInt8] = [UInt8(ascii: "[")]
        for index in 0..<count { bytes += index == 0 ? [UInt8(ascii: "0")] : [UInt8(ascii: ","), UInt8(ascii: "0")] }
        return bytes + [UInt8(ascii: "]")]
    }

    @Test("a node takes 12 bytes of tape")
    func nodeSize() {
        #expect(JSONLimits.bytesPerNode == 12)
        #expect(JSONLimits.defaultMaximumNodes == 2_621_440)
    }

    @Test("packed nodes keep kind, escape flag and offsets")
    func packing() throws {
        let document = try JSONDocument(parsing: #"{"a\n":[true,false,null,-1.5e3,"x"]}"#)
        #expect(document.nodeCount == 8)  // the object, its key, the array and its 5 values
        let members = document.root.members
        #expect(members.map(\.key) == ["a\n"])
        let elements = try #require(members.first?.value.elements)
        #expect(elements.map(\.typeName) == ["a boolean", "a boolean", "null", "a number", "a string"])
        #expect(elements[0].bool == true)
        #expect(elements[3].double == -1500)
        #expect(elements[4].string == "x")
        #expect(elements[4].offset == 31)  // its opening quote
    }

    @Test("the node cap stops a dense text at the value past it, with its position")
    func nodeCap() throws {
        #expect(try JSONDocument(parsing: Self.dense(99), limits: JSONLimits(maximumNodes: 100)).nodeCount == 100)
        // The 101st node is the 100th zero, at byte 1 + 99 * 2.
        #expect(throws: JSONParseError(offset: 199, line: 1, column: 200, reason: "more than 100 values")) {
            try JSONDocument(parsing: Self.dense(100), limits: JSONLimits(maximumNodes: 100))
        }
    }

    @Test("the tape is charged before it is allocated and given back when the document goes")
    func budgetCharged() throws {
        let budget = CountingBudget(limit: 1 << 20)
        do {
            let document = try JSONDocument(parsing: Self.dense(10_000), limits: JSONLimits(budget: budget))
            #expect(document.nodeCount == 10_001)
            #expect(budget.held.load(ordering: .relaxed) == document.tapeBytes)
            #expect(document.tapeBytes >= 10_001 * 12)
            // Growing holds the old and the new storage at once, and both were charged.
            #expect(budget.peak.load(ordering: .relaxed) > document.tapeBytes)
        }
        #expect(budget.held.load(ordering: .relaxed) == 0)
    }

    @Test("a budget without room fails the parse as exhausted, not as invalid JSON, and holds nothing after")
    func budgetExhausted() throws {
        let budget = CountingBudget(limit: 64 << 10)
        do {
            _ = try JSONDocument(parsing: Self.dense(100_000), limits: JSONLimits(budget: budget))
            Issue.record("parsed past the budget")
        } catch {
            #expect(error.exhaustedBudget)
            #expect(error.reason == "server is busy: no memory left for parsing; retry")
        }
        #expect(budget.held.load(ordering: .relaxed) == 0)
        // Invalid input after a successful allocation also gives its charge back.
        #expect(throws: JSONParseError.self) { try JSONDocument(parsing: "[1,2,", limits: JSONLimits(budget: budget)) }
        #expect(budget.held.load(ordering: .relaxed) == 0)
        // A budget that cannot take even the first allocation.
        let empty = CountingBudget(limit: 0)
        #expect(throws: JSONParseError(offset: 0, line: 1, column: 1, reason: "server is busy: no memory left for parsing; retry", exhaustedBudget: true)) {
            try JSONDocument(parsing: "[]", limits: JSONLimits(budget: empty))
        }
    }
}
