extension JSONDocument {
    /// The most memory parsing `text` may take beyond the text itself, for callers that charge a
    /// parse to a byte budget before doing it. One linear scan, no parse.
    ///
    /// Every node but the first follows a `[`, `{`, `,` or `:`, so counting those bytes (inside
    /// strings too, which only over-counts) bounds the nodes: about one per 10 bytes for
    /// Kubernetes objects, one per 2 for dense arrays. While parsing, the growing tape may hold its
    /// old and its doubled storage at once (the document keeps the tape without copying it): three
    /// tapes' worth at most, which over-counts on purpose. Keep this in step with `JSONParser`.
    public static func parseBytesBound(of text: [UInt8]) -> Int {
        var nodes = 1
        text.withUnsafeBufferPointer { bytes in
            for byte in bytes {
                switch byte {
                case UInt8(ascii: "["), UInt8(ascii: "{"), UInt8(ascii: ","), UInt8(ascii: ":"): nodes += 1
                default: break
                }
            }
        }
        // The parser reserves this many nodes up front, whatever the text holds.
        let reserved = text.count / 8 + 16
        return 3 * MemoryLayout<JSONNode>.stride * max(nodes, reserved)
    }
}
