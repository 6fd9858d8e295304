/// The record files on disk, oldest first by name, with their total size.
struct RecordIndex: Sendable {
    struct Entry: Sendable, Equatable {
        var name: String
        var size: Int
    }

    private(set) var entries: [Entry] = []
    private(set) var totalBytes = 0
    private var names: Set<String> = []

    init(_ entries: [Entry] = []) {
        for entry in entries.sorted(by: { RecordIndex.precedes($0.name, $1.name) }) { insert(entry) }
    }

    func contains(_ name: String) -> Bool { names.contains(name) }

    /// Inserts in name order; new names almost always sort last, so the search starts at the end.
    mutating func insert(_ entry: Entry) {
        guard names.insert(entry.name).inserted else { return }
        var position = entries.endIndex
        while position > entries.startIndex, RecordIndex.precedes(entry.name, entries[position - 1].name) { position -= 1 }
        entries.insert(entry, at: position)
        totalBytes += entry.size
    }

    /// Removes and returns the oldest entries until both limits hold.
    mutating func removeOldest(maximumFiles: Int, maximumBytes: Int) -> [Entry] {
        var count = 0
        var bytes = totalBytes
        while count < entries.count, entries.count - count > maximumFiles || bytes > maximumBytes {
            bytes -= entries[count].size
            count += 1
        }
        guard count > 0 else { return [] }
        let removed = Array(entries[..<count])
        entries.removeFirst(count)
        totalBytes = bytes
        for entry in removed { names.remove(entry.name) }
        return removed
    }

    /// Byte order, as `ls` and `replay` sort names, independent of Unicode collation.
    static func precedes(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }
}
