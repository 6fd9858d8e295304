extension JSONDocument {
    /// The earliest member whose name repeats an earlier member of the same object, as an error
    /// at that member's key (`duplicate key "spec"`), or nil when every object's names are distinct.
    ///
    /// Go and the apiserver merge duplicate members into one value, while `JSONValue` keeps the
    /// last one whole, so a document with duplicates can mean two different objects; input files
    /// are refused instead. Names compare byte for byte after unescaping, as `JSONValue.member` does.
    ///
    /// One pass over the tape: each member is visited once, by its own object; objects of up to 8
    /// members compare names pairwise, larger ones use a set sized for them. No quadratic work.
    public func firstDuplicateKey() -> JSONParseError? {
        // Byte offset of the repeated key's opening quote, and its tape index.
        var earliest: (offset: Int, index: Int)?
        nodes.withUnsafeBufferPointer { nodes in
            bytes.withUnsafeBufferPointer { text in
                var keys: [Int] = []
                for index in nodes.indices where nodes[index].kind == .object {
                    // Nothing inside this object can come before a duplicate already found.
                    if let found = earliest, Int(nodes[index].start) > found.offset { continue }
                    keys.removeAll(keepingCapacity: true)
                    let end = Int(nodes[index].next)
                    var key = index + 1
                    while key < end {
                        keys.append(key)
                        key = Int(nodes[key + 1].next)
                    }
                    guard let repeated = JSONDocument.firstRepeat(keys, nodes, text, bytes) else { continue }
                    let offset = Int(nodes[repeated].start) - 1
                    if earliest.map({ offset < $0.offset }) ?? true { earliest = (offset, repeated) }
                }
            }
        }
        guard let earliest else { return nil }
        let name = JSONValue(document: self, index: earliest.index).string ?? ""
        return JSONParser.error(in: bytes, at: earliest.offset, "duplicate key \(JSONDocument.quotedForMessage(name))")
    }

    /// The key node among `keys` (tape indices of one object's keys, in order) that is the first
    /// to repeat an earlier name, or nil.
    private static func firstRepeat(
        _ keys: [Int], _ nodes: UnsafeBufferPointer<JSONNode>, _ text: UnsafeBufferPointer<UInt8>, _ bytes: [UInt8]
    ) -> Int? {
        guard keys.count > 1 else { return nil }
        if keys.count <= 8 {
            for later in 1..<keys.count {
                for earlier in 0..<later where sameName(nodes[keys[earlier]], nodes[keys[later]], text) {
                    return keys[later]
                }
            }
            return nil
        }
        var seen = Set<ArraySlice<UInt8>>(minimumCapacity: keys.count)
        for key in keys {
            let node = nodes[key]
            let name = node.escaped
                ? ArraySlice(JSONValue.decodeBytes(text, node))
                : bytes[Int(node.start)..<Int(node.end)]
            if !seen.insert(name).inserted { return key }
        }
        return nil
    }

    private static func sameName(_ a: JSONNode, _ b: JSONNode, _ text: UnsafeBufferPointer<UInt8>) -> Bool {
        if !a.escaped && !b.escaped {
            let length = Int(a.end - a.start)
            guard length == Int(b.end - b.start) else { return false }
            var i = 0
            let first = Int(a.start)
            let second = Int(b.start)
            while i < length {
                if text[first + i] != text[second + i] { return false }
                i += 1
            }
            return true
        }
        return JSONValue.decodeBytes(text, a) == JSONValue.decodeBytes(text, b)
    }

    /// A name in double quotes, JSON-escaped, cut at 64 characters so a huge key cannot flood a message.
    static func quotedForMessage(_ name: String) -> String {
        let cut = name.count > 64 ? String(name.prefix(64)) + "…" : name
        var writer = JSONWriter(capacity: cut.utf8.count + 2)
        writer.string(cut)
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}
