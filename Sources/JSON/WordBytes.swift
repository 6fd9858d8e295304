/// Byte tests on eight bytes at once ("Bit Twiddling Hacks": a byte is zero where `(x - 0x01…) & ~x`
/// has its high bit). Each returns the high bit of every byte that matches. A non-zero result is
/// exact for the word, and so is its lowest flagged byte; bytes above that one may be flagged by a
/// borrow. Bytes are little-endian in the word.
enum WordBytes {
    // Computed, not stored: a constant in every caller, with no lazy-initialisation check.
    @inline(__always) static var ones: UInt64 { 0x0101_0101_0101_0101 }
    @inline(__always) static var highs: UInt64 { 0x8080_8080_8080_8080 }

    /// Bytes equal to `byte`.
    @inline(__always)
    static func equal(_ word: UInt64, _ byte: UInt8) -> UInt64 {
        let x = word ^ (ones &* UInt64(byte))
        return (x &- ones) & ~x & highs
    }

    /// Bytes below `bound` (at most 0x80).
    @inline(__always)
    static func below(_ word: UInt64, _ bound: UInt8) -> UInt64 {
        (word &- ones &* UInt64(bound)) & ~word & highs
    }

    /// Bytes at 0x80 and above: non-ASCII.
    @inline(__always)
    static func nonASCII(_ word: UInt64) -> UInt64 {
        word & highs
    }
}
