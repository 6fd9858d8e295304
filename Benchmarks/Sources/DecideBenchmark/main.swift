import AdmissionCore
import AdmissionModel
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import JSON
#if canImport(Glibc)
import Glibc
#endif
import ImageResolution
import NonRootPolicy

// Usage: DecideBenchmark REVIEW.json IMAGES.yaml [ITERATIONS] [RECORDED-REVIEW.json ...]
// Prints ns per review (min / median / max of 5 batches) for each stage. With NONROOT_BENCH_STAGE set,
// runs only the stages whose name contains it, so a profiler (callgrind) sees one stage alone.

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    print("usage: DecideBenchmark REVIEW.json IMAGES.yaml [ITERATIONS] [MORE-REVIEWS.json ...]")
    exit(2)
}
func read(_ path: String) -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else {
        print("cannot read \(path)")
        exit(2)
    }
    return [UInt8](data)
}
let review = read(arguments[1])
let catalog = try ImageCatalog.parse(String(decoding: read(arguments[2]), as: UTF8.self), source: arguments[2])
let iterations = arguments.count > 3 ? Int(arguments[3]) ?? 100_000 : 100_000
let others = arguments.count > 4 ? arguments[4...].map(read) : []
let decider = AdmissionDecider(configuration: DecisionConfiguration())
let evaluator = PolicyEvaluator(policy: .kubelet)

@inline(never) func blackHole<T>(_ value: T) { withExtendedLifetime(value) {} }

let onlyStage = ProcessInfo.processInfo.environment["NONROOT_BENCH_STAGE"]

func measure(_ name: String, bytes: Int, reviewsPerCall: Int = 1, _ body: () throws -> Void) rethrows {
    if let onlyStage, !name.contains(onlyStage) { return }
    let clock = ContinuousClock()
    for _ in 0..<(iterations / 20) { try body() }  // warm-up
    var batches: [Double] = []
    let perBatch = max(1, iterations / 5)
    for _ in 0..<5 {
        let start = clock.now
        for _ in 0..<perBatch { try body() }
        let elapsed = clock.now - start
        let ns = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
        batches.append(ns / Double(perBatch * reviewsPerCall))
    }
    batches.sort()
    let median = batches[2]
    func pad(_ text: String, _ width: Int) -> String { text.count >= width ? text : text + String(repeating: " ", count: width - text.count) }
    func ns(_ value: Double) -> String { pad(String(Int(value.rounded())), 7) }
    let line = "\(pad(name, 52)) \(ns(batches[0])) / \(ns(median)) / \(ns(batches[4])) ns  \(Int((1e9 / median).rounded()))/s  (\(bytes) bytes)"
    print(line)
}

print("stage                                                min / median / max per review     reviews/s")
let parsedReview = try AdmissionReviewRequest.decode(review)
let prepared = try decider.prepare(parsedReview)
guard let pod = prepared.pod else {
    print("the benchmark review must be a Pod CREATE that is evaluated")
    exit(2)
}
try measure("parse JSON (validate whole document)", bytes: review.count) { blackHole(try JSONDocument(parsing: review)) }
try measure("decode AdmissionReview + pod spec", bytes: review.count) {
    // As the server does, and as the end-to-end stage below: the decoded review moved, not copied.
    blackHole(try decider.prepare(bytes: review))
}
measure("evaluate decoded pod (kubelet policy)", bytes: review.count) {
    blackHole(evaluator.evaluate(pod) { catalog.lookup($0) })
}
measure("decide + encode response", bytes: review.count) {
    blackHole(decider.decide(prepared) { catalog.lookup($0) }.reviewJSON)
}
try measure("end to end: bytes -> response bytes", bytes: review.count) {
    let p = try decider.prepare(bytes: review)
    blackHole(decider.decide(p) { catalog.lookup($0) }.reviewJSON)
}
if !others.isEmpty {
    let total = others.reduce(0) { $0 + $1.count }
    try measure("end to end, \(others.count) recorded reviews (per review)", bytes: total / others.count, reviewsPerCall: others.count) {
        for bytes in others {
            let p = try decider.prepare(bytes: bytes)
            blackHole(decider.decide(p) { catalog.lookup($0) }.reviewJSON)
        }
    }
}
