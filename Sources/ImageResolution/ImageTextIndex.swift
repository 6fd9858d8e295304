#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-mostly map from strings, compared byte for byte as UTF-8, to values: the image catalog's
/// lookup by the exact text a pod uses, which every review with a catalogued image pays.
///
/// `Dictionary<String, Value>` hashes the key with SipHash-1-3 and compares with Unicode canonical
/// equivalence: about 680 instructions a lookup of a 35-byte image reference, a quarter of an
/// evaluation. A folded-multiply hash of 8-byte words and a `memcmp` take about 350 (BENCHMARKS.md, round 7).
///
/// The hash is not seeded and would not resist chosen collisions, and need not: the table is filled
/// from the operator's catalog, never from review input, so a lookup probes at most the longest run
/// of occupied slots the catalog itself made (kept short by a load factor of at most one half), and
/// compares bytes only with entries whose 64-bit hash is equal. Byte equality is also the kubelet's:
/// a reference that differs in any byte is another reference (`"K"` and KELVIN SIGN are equal as
/// Swift Strings, but not as image names).
struct ImageTextIndex<Value: Sendable>: Sendable {
    /// Each entry's hash and key, as a range of `bytes`.
    private var keys: [Key] = []
    private var bytes: [UInt8] = []
    private var values: [Value] = []
    /// Open addressing with linear probing: an entry number per slot, -1 when empty; a power of two in size.
    private var slots: [Int32] = []

    init() {}

    /// The value for `key`'s exact bytes, or nil.
    subscript(key: String) -> Value? {
        if let found = key.utf8.withContiguousStorageIfAvailable({ find(UnsafeRawBufferPointer($0)) }) {
            return found.map { values[$0] }
        }
        return Array(key.utf8).withUnsafeBytes { find($0) }.map { values[$0] }
    }

    /// Sets the value for `key`, replacing any.
    mutating func set(_ value: Value, for key: String) {
        let utf8 = Array(key.utf8)
        if let entry = utf8.withUnsafeBytes({ find($0) }) {
            values[entry] = value
            return
        }
        // Growing at half full keeps the runs of occupied slots, and so the cost of a miss, short.
        if (values.count + 1) * 2 > slots.count { rehash(capacity: max(16, slots.count * 2)) }
        let hash = utf8.withUnsafeBytes { Self.hash($0) }
        keys.append(Key(hash: hash, start: bytes.count, count: utf8.count))
        bytes += utf8
        values.append(value)
        place(entry: values.count - 1, hash: hash)
    }

    private func find(_ key: UnsafeRawBufferPointer) -> Int? {
        guard !slots.isEmpty else { return nil }
        let hash = Self.hash(key)
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let entry = Int(slots[slot])
            if entry < 0 { return nil }
            if keys[entry].hash == hash, equal(keys[entry], key) { return entry }
            slot = (slot &+ 1) & mask
        }
    }

    private func equal(_ stored: Key, _ key: UnsafeRawBufferPointer) -> Bool {
        guard stored.count == key.count else { return false }
        return bytes.withUnsafeBytes { bytes in
            guard let storedBase = bytes.baseAddress, let keyBase = key.baseAddress else { return key.isEmpty }
            return memcmp(storedBase + stored.start, keyBase, key.count) == 0
        }
    }

    private mutating func place(entry: Int, hash: UInt64) {
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while slots[slot] >= 0 { slot = (slot &+ 1) & mask }
        slots[slot] = Int32(entry)
    }

    private mutating func rehash(capacity: Int) {
        slots = Array(repeating: -1, count: capacity)
        for entry in keys.indices { place(entry: entry, hash: keys[entry].hash) }
    }

    /// A folded-multiply hash (as in wyhash and foldhash) of the bytes, eight at a time; the last
    /// word overlaps the one before rather than being assembled byte by byte.
    static func hash(_ key: UnsafeRawBufferPointer) -> UInt64 {
        let count = key.count
        var state = UInt64(truncatingIfNeeded: count) &* 0xA076_1D64_78BD_642F
        if count > 8 {
            var offset = 0
            while offset + 8 < count {
                state = fold(state ^ key.loadUnaligned(fromByteOffset: offset, as: UInt64.self), 0x9E37_79B9_7F4A_7C15)
                offset += 8
            }
            state = fold(state ^ key.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self), 0xE703_7ED1_A0B4_28DB)
        } else if count >= 4 {
            let first = UInt64(key.loadUnaligned(as: UInt32.self))
            let last = UInt64(key.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self))
            state = fold(state ^ (first << 32 | last), 0xE703_7ED1_A0B4_28DB)
        } else if count > 0 {
            let bytes = UInt64(key[0]) << 16 | UInt64(key[count / 2]) << 8 | UInt64(key[count - 1])
            state = fold(state ^ bytes, 0xE703_7ED1_A0B4_28DB)
        }
        return fold(state, 0x8EBC_6AF0_9C88_C6E3)
    }

    private struct Key {
        var hash: UInt64
        var start: Int
        var count: Int
    }

    private static func fold(_ value: UInt64, _ multiplier: UInt64) -> UInt64 {
        let (high, low) = value.multipliedFullWidth(by: multiplier)
        return high ^ low
    }
}
