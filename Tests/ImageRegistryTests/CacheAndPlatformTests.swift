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

    /// containerd/platforms `Normalize`, row by row (k8s-semantics.md §10.D).
    @Test("normalised as containerd's platforms.Normalize", arguments: [
        // os: lower-cased, macos is darwin
        ("Linux", "amd64", nil, "linux/amd64"),
        ("WINDOWS", "amd64", nil, "windows/amd64"),
        ("macos", "arm64", nil, "darwin/arm64"),
        ("MacOS", "arm64", nil, "darwin/arm64"),
        // i386 is 386 with no variant; 386 itself keeps its variant
        ("linux", "i386", nil, "linux/386"),
        ("linux", "i386", "sse2", "linux/386"),
        ("linux", "386", "sse2", "linux/386/sse2"),
        // x86_64, x86-64, amd64: amd64, v1 dropped, other variants kept
        ("linux", "x86_64", nil, "linux/amd64"),
        ("linux", "X86_64", "v1", "linux/amd64"),
        ("linux", "x86-64", nil, "linux/amd64"),
        ("linux", "amd64", "v1", "linux/amd64"),
        ("linux", "amd64", "v2", "linux/amd64/v2"),
        ("linux", "x86_64", "V3", "linux/amd64/v3"),
        // aarch64, arm64: arm64, 8/v8 (and v8.0) dropped, 9/9.0/v9.0 are v9, others kept
        ("linux", "aarch64", nil, "linux/arm64"),
        ("linux", "aarch64", "8", "linux/arm64"),
        ("linux", "arm64", "v8", "linux/arm64"),
        ("linux", "ARM64", "V8", "linux/arm64"),
        ("linux", "arm64", "v8.0", "linux/arm64"),
        ("linux", "arm64", "9", "linux/arm64/v9"),
        ("linux", "arm64", "9.0", "linux/arm64/v9"),
        ("linux", "arm64", "v9.0", "linux/arm64/v9"),
        ("linux", "arm64", "v8.2", "linux/arm64/v8.2"),
        // armhf is arm v7 and armel arm v6, whatever variant was given
        ("linux", "armhf", nil, "linux/arm/v7"),
        ("linux", "armhf", "v5", "linux/arm/v7"),
        ("linux", "armel", nil, "linux/arm/v6"),
        ("linux", "armel", "v7", "linux/arm/v6"),
        // arm: ""/7 are v7; 5, 6, 8 gain their v; others kept
        ("linux", "arm", nil, "linux/arm/v7"),
        ("linux", "arm", "7", "linux/arm/v7"),
        ("linux", "arm", "v7", "linux/arm/v7"),
        ("linux", "arm", "5", "linux/arm/v5"),
        ("linux", "arm", "6", "linux/arm/v6"),
        ("linux", "arm", "8", "linux/arm/v8"),
        ("linux", "arm", "v6", "linux/arm/v6"),
        // anything else: lower-cased, unchanged
        ("linux", "PPC64LE", nil, "linux/ppc64le"),
        ("linux", "s390x", nil, "linux/s390x"),
        ("linux", "riscv64", nil, "linux/riscv64"),
        ("unknown", "unknown", nil, "unknown/unknown"),
    ] as [(String, String, String?, String)])
    func normalized(os: String, architecture: String, variant: String?, expected: String) {
        #expect(Platform(os: os, architecture: architecture, variant: variant).normalized.description == expected)
    }

    @Test("index entries and --platform match after normalisation", arguments: [
        ("linux/x86_64", "linux/amd64", true),
        ("linux/aarch64", "linux/arm64/v8", true),
        ("linux/armhf", "linux/arm/v7", true),
        ("linux/armel", "linux/arm", false),
        ("linux/armel", "linux/arm/v6", true),
        ("Linux/AMD64", "linux/x86-64", true),
        ("linux/amd64/v2", "linux/amd64", false),
        ("linux/i386", "linux/386", true),
    ])
    func normalisedMatch(entry: String, wanted: String, expected: Bool) throws {
        let parts = entry.split(separator: "/").map(String.init)
        let entry = Platform(os: parts[0], architecture: parts[1], variant: parts.count > 2 ? parts[2] : nil)
        #expect(entry.satisfies(try #require(Platform(parsing: wanted))) == expected)
    }

    @Test("an arm64 entry without a variant satisfies linux/arm64/v8 (containerd normalises arm64 to v8)")
    func arm64WithoutVariantIsV8() throws {
        let entry = Platform(os: "linux", architecture: "arm64")
        let wanted = try #require(Platform(parsing: "linux/arm64/v8"))
        #expect(entry.satisfies(wanted))
    }
}
