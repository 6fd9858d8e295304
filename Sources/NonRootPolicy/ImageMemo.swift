/// A map from image references to what is known of them, for the images of one review (the evaluator's).
///
/// A review names a handful of images, and comparing a few strings costs less than hashing one
/// (SipHash over a 60-byte reference); past `linearLimit` entries (a raised `--max-images-per-review`)
/// it moves to a dictionary, so the cost stays linear in the lookups whatever the bound.
struct ImageMemo<Value> {
    private var entries: [(image: String, value: Value)] = []
    private var index: [String: Value]?
    static var linearLimit: Int { 16 }

    var count: Int { index?.count ?? entries.count }

    subscript(image: String) -> Value? {
        if let index { return index[image] }
        // Newest first: the evaluator asks again for the image it has just added (the next OS's
        // check of the same container), and that string is the same storage, so `==` is one compare.
        // A length test first skips the byte comparison of most other images.
        let length = image.utf8.count
        var position = entries.endIndex
        while position > entries.startIndex {
            position -= 1
            if entries[position].image.utf8.count == length, entries[position].image == image { return entries[position].value }
        }
        return nil
    }

    /// Records `value` for `image`, which must not be recorded yet.
    mutating func add(_ image: String, _ value: Value) {
        if index != nil {
            index?[image] = value
        } else if entries.count < Self.linearLimit {
            if entries.isEmpty { entries.reserveCapacity(4) }
            entries.append((image, value))
        } else {
            var index = Dictionary(entries.map { ($0.image, $0.value) }, uniquingKeysWith: { first, _ in first })
            index[image] = value
            self.index = index
            entries = []
        }
    }
}
