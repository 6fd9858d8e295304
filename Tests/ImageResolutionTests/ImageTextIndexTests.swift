import Testing
import TestSupport
@testable import ImageResolution

@Suite("ImageTextIndex")
struct ImageTextIndexTests {
    /// Keys from a small alphabet, so that many share a length, a prefix or all but one byte; lengths
    /// cover the hash's branches (0, 1-3, 4-8, 9-16, longer) and Swift's small and large strings.
    private static func key(_ generator: inout SplitMix64) -> [UInt8] {
        let alphabet = Array("ab/:.-@K".utf8)
        let length = [0, 1, 3, 4, 7, 8, 9, 15, 16, 17, 35, 64, 71][Int(generator.next() % 13)]
        return (0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }
    }

    /// A query that is often a near miss of a stored key: one byte changed, one dropped or added.
    private static func query(_ generator: inout SplitMix64, near keys: [[UInt8]]) -> [UInt8] {
        guard !keys.isEmpty, generator.next() % 4 != 0 else { return key(&generator) }
        var bytes = keys[Int(generator.next() % UInt64(keys.count))]
        switch generator.next() % 4 {
        case 0: break
        case 1 where !bytes.isEmpty: bytes[Int(generator.next() % UInt64(bytes.count))] ^= 1
        case 2 where !bytes.isEmpty: bytes.removeLast()
        default: bytes.append(UInt8(ascii: "a"))
        }
        return bytes
    }

    @Test("answers as a Dictionary keyed by the bytes does, through growth and replacement", arguments: [1, 2, 3])
    func differential(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        var index = ImageTextIndex<Int>()
        var oracle: [[UInt8]: Int] = [:]
        var keys: [[UInt8]] = []
        var disagreements: [String] = []
        for step in 0..<3000 {
            let key = generator.next() % 5 == 0 && !keys.isEmpty ? keys[Int(generator.next() % UInt64(keys.count))] : Self.key(&generator)
            index.set(step, for: String(decoding: key, as: UTF8.self))
            if oracle.updateValue(step, forKey: key) == nil { keys.append(key) }
            for _ in 0..<4 {
                let query = Self.query(&generator, near: keys)
                let text = String(decoding: query, as: UTF8.self)
                if index[text] != oracle[query] { disagreements.append("\(text): \(String(describing: index[text])) vs \(String(describing: oracle[query]))") }
            }
        }
        for key in keys where index[String(decoding: key, as: UTF8.self)] != oracle[key] {
            disagreements.append("stored \(String(decoding: key, as: UTF8.self))")
        }
        #expect(disagreements == [])
        #expect(keys.count > 1000)
    }

    @Test("keys are compared byte for byte, not by Unicode canonical equivalence")
    func bytes() {
        var index = ImageTextIndex<Int>()
        #expect(index["nginx:K1"] == nil)
        index.set(1, for: "nginx:K1")
        index.set(2, for: "caf\u{E9}")
        index.set(3, for: "")
        #expect("nginx:\u{212A}1" == "nginx:K1")
        #expect(index["nginx:\u{212A}1"] == nil)
        #expect(index["nginx:K1"] == 1)
        #expect(index["cafe\u{301}"] == nil)
        #expect(index["caf\u{E9}"] == 2)
        #expect(index[""] == 3)
        index.set(4, for: "nginx:K1")
        #expect(index["nginx:K1"] == 4)
    }

    @Test("the hash spreads image references that differ in one byte")
    func spread() {
        // References that differ only in a digit of the tag, at each position of the last word.
        var hashes = Set<UInt64>()
        var slots = Set<UInt64>()
        for tag in 0..<4096 {
            let bytes = Array("registry.example.com/team/app:\(String(tag, radix: 16))".utf8)
            let hash = bytes.withUnsafeBytes { ImageTextIndex<Int>.hash($0) }
            hashes.insert(hash)
            slots.insert(hash & 8191)
        }
        #expect(hashes.count == 4096)
        // Into 8192 slots, 4096 uniform hashes fill about 3,220; a poor mix fills far fewer.
        #expect(slots.count > 3000)
    }
}
