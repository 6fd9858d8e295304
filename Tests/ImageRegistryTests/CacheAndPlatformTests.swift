import Testing
@testable import ImageRegistry

@Suite("LRUCache")
struct LRUCacheTests {
    @Test("values are found by key until evicted")
    func setAndGet() {
        var cache = LRUCache<String, Int>(capacity: 4)
        cache.set(1, for: "a")
        cache.set(2, for: "b")
        #expect(cache.count == 2)
        #expect(cache.value(for: "a") == 1)
        #expect(cache.value(for: "b") == 2)
        #expect(cache.value(for: "c") == nil)
    }

    @Test("setting an existing key replaces its value without growing")
    func replace() {
        var cache = LRUCache<String, Int>(capacity: 2)
        cache.set(1, for: "a")
        cache.set(2, for: "b")
        cache.set(3, for: "a")
        #expect(cache.count == 2)
        #expect(cache.value(for: "a") == 3)
        #expect(cache.value(for: "b") == 2)
    }

    @Test("the least recently set entry goes first")
    func evictsOldest() {
        var cache = LRUCache<String, Int>(capacity: 3)
        cache.set(1, for: "a")
        cache.set(2, for: "b")
        cache.set(3, for: "c")
        cache.set(4, for: "d")
        #expect(cache.count == 3)
        #expect(cache.value(for: "a") == nil)
        #expect(cache.value(for: "b") == 2)
        #expect(cache.value(for: "c") == 3)
        #expect(cache.value(for: "d") == 4)
    }

    @Test("reading an entry makes it recently used")
    func readRefreshes() {
        var cache = LRUCache<String, Int>(capacity: 3)
        cache.set(1, for: "a")
        cache.set(2, for: "b")
        cache.set(3, for: "c")
        #expect(cache.value(for: "a") == 1)
        cache.set(4, for: "d")
        #expect(cache.value(for: "b") == nil)
        #expect(cache.value(for: "a") == 1)
        #expect(cache.value(for: "c") == 3)
        #expect(cache.value(for: "d") == 4)
    }

    @Test("rewriting an entry makes it recently used")
    func writeRefreshes() {
        var cache = LRUCache<String, Int>(capacity: 2)
        cache.set(1, for: "a")
        cache.set(2, for: "b")
        cache.set(10, for: "a")
        cache.set(3, for: "c")
        #expect(cache.value(for: "b") == nil)
        #expect(cache.value(for: "a") == 10)
        #expect(cache.value(for: "c") == 3)
    }

    @Test("a miss does not change recency")
    func missDoesNotRefresh() {
        var cache = LRUCache<String, Int>(capacity: 2)
        cache.set(1, for: "a")
        cache.set(2, for: "b")
        #expect(cache.value(for: "zzz") == nil)
        cache.set(3, for: "c")
        #expect(cache.value(for: "a") == nil)
        #expect(cache.count == 2)
    }

    @Test("large caches drop the oldest eighth at once, and never exceed capacity")
    func evictsAnEighth() {
        var cache = LRUCache<Int, Int>(capacity: 16)
        for key in 0..<16 { cache.set(key, for: key) }
        #expect(cache.count == 16)
        cache.set(16, for: 16)
        // 17 entries: drop 17 - 16 + 16/8 = 3, the three oldest.
        #expect(cache.count == 14)
        for key in 0..<3 { #expect(cache.value(for: key) == nil, "\(key)") }
        for key in 3...16 { #expect(cache.value(for: key) == key, "\(key)") }
    }

    @Test("the count never exceeds capacity under churn", arguments: [1, 2, 3, 7, 8, 9, 64])
    func boundedUnderChurn(capacity: Int) {
        var cache = LRUCache<Int, Int>(capacity: capacity)
        for key in 0..<1_000 {
            cache.set(key, for: key)
            #expect(cache.count <= capacity)
            // The newest entry always survives its own insertion.
            #expect(cache.value(for: key) == key)
        }
        #expect(cache.count >= 1)
    }

    @Test("a capacity below one is one", arguments: [0, -5])
    func minimumCapacity(capacity: Int) {
        var cache = LRUCache<String, Int>(capacity: capacity)
        #expect(cache.capacity == 1)
        cache.set(1, for: "a")
        cache.set(2, for: "b")
        #expect(cache.count == 1)
        #expect(cache.value(for: "a") == nil)
        #expect(cache.value(for: "b") == 2)
    }
}

@Suite("Platform")
struct PlatformTests {
    @Test("os/arch[/variant] parses, lowercased", arguments: [
        ("linux/arm64/v8", Platform(os: "linux", architecture: "arm64", variant: "v8")),
        ("linux/amd64", Platform(os: "linux", architecture: "amd64")),
        ("windows/amd64", Platform(os: "windows", architecture: "amd64")),
        ("linux/arm/v7", Platform(os: "linux", architecture: "arm", variant: "v7")),
        ("Linux/AMD64", Platform(os: "linux", architecture: "amd64")),
        ("LINUX/ARM64/V8", Platform(os: "linux", architecture: "arm64", variant: "v8")),
    ])
    func parsing(text: String, expected: Platform) {
        #expect(Platform(parsing: text) == expected)
    }

    @Test("other forms are rejected", arguments: [
        "", "linux", "/", "linux/", "/amd64", "linux//v8", "linux/amd64/", "linux/arm64/v8/extra", "//", "linux/amd64/v1/",
    ])
    func rejected(text: String) {
        #expect(Platform(parsing: text) == nil)
    }

    @Test("description is os/arch[/variant]")
    func description() {
        #expect(Platform(os: "linux", architecture: "arm64", variant: "v8").description == "linux/arm64/v8")
        #expect(Platform(os: "linux", architecture: "amd64").description == "linux/amd64")
        #expect(Platform(parsing: "Linux/ARM/v7")?.description == "linux/arm/v7")
    }

    @Test("an index entry satisfies a wanted platform", arguments: [
        ("linux/amd64", "linux/amd64", true),
        ("linux/arm64/v8", "linux/arm64", true),
        ("linux/arm64/v8", "linux/arm64/v8", true),
        ("linux/arm64/v8", "linux/arm64/v9", false),
        ("linux/arm/v7", "linux/arm/v6", false),
        ("linux/arm/v7", "linux/arm", true),
        ("linux/amd64", "linux/arm64", false),
        ("linux/amd64", "windows/amd64", false),
        ("windows/amd64", "windows/amd64", true),
        ("linux/arm64", "linux/arm64", true),
    ])
    func satisfies(entry: String, wanted: String, expected: Bool) throws {
        let entry = try #require(Platform(parsing: entry))
        let wanted = try #require(Platform(parsing: wanted))
        #expect(entry.satisfies(wanted) == expected)
    }

    @Test("an arm64 entry without a variant satisfies linux/arm64/v8 (containerd normalises arm64 to v8)")
    func arm64WithoutVariantIsV8() throws {
        let entry = Platform(os: "linux", architecture: "arm64")
        let wanted = try #require(Platform(parsing: "linux/arm64/v8"))
        #expect(entry.satisfies(wanted))
    }
}
