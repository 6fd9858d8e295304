// Registry lookup benchmark (issue "registry"): the cost a cached answer adds per image, the latency
// of cold lookups against real local registries, and the requests 1,000 reviews of 10 images cause.
// Usage: RegistryBenchmark PLAIN_HOST TLS_HOST FAULTS_HOST CA_FILE STATS_URL [ITERATIONS]
import Foundation
import ImageRegistry
import ImageResolution
import NonRootPolicy

let arguments = CommandLine.arguments
guard arguments.count >= 6 else {
    print("usage: RegistryBenchmark PLAIN_HOST TLS_HOST FAULTS_HOST CA_FILE STATS_URL [ITERATIONS]")
    exit(2)
}
let (plain, tls, faults, caFile, statsURL) = (arguments[1], arguments[2], arguments[3], arguments[4], arguments[5])
let iterations = arguments.count > 6 ? Int(arguments[6]) ?? 200_000 : 200_000

func configuration(_ change: (inout RegistryConfiguration) -> Void = { _ in }) -> RegistryConfiguration {
    var configuration = RegistryConfiguration()
    configuration.allowPrivateAddresses = true
    configuration.insecureRegistries = [plain, faults]
    configuration.caFile = caFile
    configuration.timeout = .seconds(5)
    change(&configuration)
    return configuration
}

func nanoseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1e9 + Double(duration.components.attoseconds) / 1e9
}

func percentiles(_ samples: [Double]) -> String {
    let sorted = samples.sorted()
    func at(_ p: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
    return String(format: "p50 %.2f  p90 %.2f  p99 %.2f  max %.2f", at(0.5), at(0.9), at(0.99), sorted.last ?? 0)
}

func requestCounts() -> [String: Int] {
    // curl: Foundation on Linux reads http URLs only through FoundationNetworking.
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["curl", "-s", "--max-time", "5", statsURL]
    let pipe = Pipe()
    process.standardOutput = pipe
    guard (try? process.run()) != nil else { return [:] }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
          let rows = object["requests"] as? [[String: Any]] else { return [:] }
    var counts: [String: Int] = [:]
    for row in rows {
        if let method = row["method"] as? String, let path = row["path"] as? String, let count = row["count"] as? Int {
            counts["\(method) \(path)"] = count
        }
    }
    return counts
}

// Off the main actor: top-level code is main-actor isolated, and every await from it would hop.
func run() async throws {
// 1. A cached answer: the registry's result for an image already looked up, next to a catalog hit.
do {
    let image = "\(plain)/oci/users:user-1000"
    let resolver = try RegistryLookup(configuration: configuration())
    let images = ImageLookup(catalog: ImageCatalog(), registry: resolver)
    let catalog = try ImageCatalog(entries: [(image, "1000")])
    guard case .found = await resolver.lookup(image, deadline: .now + .seconds(5)) else { fatalError("warm-up lookup failed") }
    let clock = ContinuousClock()
    var sink = 0
    for _ in 0..<10_000 { if case .found = catalog.lookup(image) { sink += 1 } }
    let catalogTime = clock.measure { for _ in 0..<iterations { if case .found = catalog.lookup(image) { sink += 1 } } }
    for _ in 0..<10_000 { if case .found = await resolver.lookup(image, deadline: .now + .seconds(5)) { sink += 1 } }
    let start = ContinuousClock.now
    for _ in 0..<iterations { if case .found = await resolver.lookup(image, deadline: .now + .seconds(5)) { sink += 1 } }
    let lookupTime = ContinuousClock.now - start
    // What the server does for a review whose image is not in the catalog: the cached answer, on the event loop.
    var offlineSink = 0
    let offlineStart = ContinuousClock.now
    for _ in 0..<iterations { offlineSink += images.knownOffline([image])?.count ?? 0 }
    let offlineTime = ContinuousClock.now - offlineStart
    // And, for an answer not cached yet, the hop it costs: resolve in a new task.
    var perCall: [Double] = []
    perCall.reserveCapacity(20_000)
    for _ in 0..<20_000 {
        let t0 = ContinuousClock.now
        let found = await Task { await images.lookUp([image], deadline: .now + .seconds(5)) }.value
        perCall.append(nanoseconds(ContinuousClock.now - t0) / 1000)
        sink += found.count
    }
    print("cached answer, \(iterations) lookups of \(image):")
    print(String(format: "  catalog lookup                       %8.3f µs", nanoseconds(catalogTime) / Double(iterations) / 1000))
    print(String(format: "  registry cache hit (lookup)          %8.3f µs", nanoseconds(lookupTime) / Double(iterations) / 1000))
    print(String(format: "  server path: cached answer (sync)    %8.3f µs", nanoseconds(offlineTime) / Double(iterations) / 1000))
    print("  lookUp in a new Task (µs)            \(percentiles(perCall))")
    if offlineSink != iterations { print("offline answers missing") }
    if sink == 0 { print("") }
    await resolver.shutdown()
}

// 2. Cold lookups: nothing cached. A fresh resolver per image (new connection), plain HTTP and TLS;
//    then one resolver across images (connections reused, nothing else cached).
do {
    let tags = ["user-unset", "user-empty", "user-0", "user-root", "user-1000", "user-1000-1000", "user-app", "user-app-app",
                "user-0-0", "user-65532", "user-64198", "no-config-section", "zero-layers"]
    for (label, host) in [("plain HTTP", plain), ("TLS", tls)] {
        var fresh: [Double] = []
        for round in 0..<4 {
            for format in ["oci", "v2s2"] {
                for tag in tags {
                    let resolver = try RegistryLookup(configuration: configuration())
                    let t0 = ContinuousClock.now
                    let lookup = await resolver.lookup("\(host)/\(format)/users:\(tag)", deadline: .now + .seconds(5))
                    let elapsed = ContinuousClock.now - t0
                    guard case .found = lookup else { fatalError("\(lookup)") }
                    if round > 0 { fresh.append(nanoseconds(elapsed) / 1e6) }
                    await resolver.shutdown()
                }
            }
        }
        let shared = try RegistryLookup(configuration: configuration())
        _ = await shared.lookup("\(host)/app", deadline: .now + .seconds(5))
        var reused: [Double] = []
        for format in ["oci", "v2s2"] {
            for tag in tags + ["multiarch"] {
                let t0 = ContinuousClock.now
                _ = await shared.lookup("\(host)/\(format)/users:\(tag)", deadline: .now + .seconds(5))
                reused.append(nanoseconds(ContinuousClock.now - t0) / 1e6)
            }
        }
        await shared.shutdown()
        print("cold lookup, \(label) (ms), new connection (\(fresh.count)): \(percentiles(fresh))")
        print("cold lookup, \(label) (ms), reused connection (\(reused.count)): \(percentiles(reused))")
    }
}

// 3. Requests for 1,000 reviews of 10 distinct images, 50 at a time, counted at the fault proxy.
do {
    let tags = ["user-unset", "user-0", "user-root", "user-1000", "user-1000-1000", "user-app", "user-app-app", "user-0-0", "user-65532", "user-64198"]
    for (label, ttl) in [("default tag TTL (5 min)", Duration.seconds(300)), ("tag TTL 200 ms", .milliseconds(200))] {
        let resolver = try RegistryLookup(configuration: configuration { $0.tagTTL = ttl })
        let images = ImageLookup(catalog: ImageCatalog(), registry: resolver)
        let before = requestCounts()
        let started = ContinuousClock.now
        var found = 0
        for batch in 0..<20 {
            await withTaskGroup(of: Int.self) { group in
                for index in 0..<50 {
                    let image = "\(faults)/v2s2/users:\(tags[(batch * 50 + index) % tags.count])"
                    group.addTask { (await images.lookUp([image], deadline: .now + .seconds(5))).values.filter { if case .found = $0 { true } else { false } }.count }
                }
                for await count in group { found += count }
            }
            if ttl < .seconds(1) { try await Task.sleep(for: .milliseconds(25)) }
        }
        let elapsed = ContinuousClock.now - started
        var manifestGET = 0, manifestHEAD = 0, blobGET = 0
        for (key, count) in requestCounts() where key.contains("/v2/v2s2/users/") {
            let added = count - (before[key] ?? 0)
            if key.hasPrefix("GET ") && key.contains("/manifests/") { manifestGET += added }
            if key.hasPrefix("HEAD ") && key.contains("/manifests/") { manifestHEAD += added }
            if key.hasPrefix("GET ") && key.contains("/blobs/") { blobGET += added }
        }
        print("1,000 reviews of 10 images, \(label): \(found) found in \(elapsed); manifest GET \(manifestGET), manifest HEAD \(manifestHEAD), config GET \(blobGET)")
        await resolver.shutdown()
    }
}
}
try await run()
