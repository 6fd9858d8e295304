/// A bounded map that forgets the least recently used entries first.
///
/// Eviction drops the oldest eighth at once, so its sort is paid rarely: amortised O(log n) per insert.
struct LRUCache<Key: Hashable, Value> {
    private var entries: [Key: (value: Value, used: UInt64)] = [:]
    private var clock: UInt64 = 0
    let capacity: Int

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    var count: Int { entries.count }

    mutating func value(for key: Key) -> Value? {
        guard let entry = entries[key] else { return nil }
        clock &+= 1
        entries[key] = (entry.value, clock)
        return entry.value
    }

    mutating func set(_ value: Value, for key: Key) {
        clock &+= 1
        entries[key] = (value, clock)
        guard entries.count > capacity else { return }
        let drop = max(1, entries.count - capacity + capacity / 8)
        let oldest = entries.sorted { $0.value.used < $1.value.used }.prefix(drop).map(\.key)
        for key in oldest { entries[key] = nil }
    }
}
