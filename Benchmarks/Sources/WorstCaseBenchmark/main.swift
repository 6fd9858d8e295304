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

// Usage: WorstCaseBenchmark DIR [ROUNDS]
// Decides every *.json review in DIR (Benchmarks/worst-case/make-bodies.py writes them) from bytes to
// response bytes, ROUNDS times each, and prints min / median / max milliseconds and the parse tape's size.
// Run pinned to one core (Benchmarks/worst-case.sh): the target is under 50 ms per review on one core.

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    print("usage: WorstCaseBenchmark DIR [ROUNDS]")
    exit(2)
}
let directory = arguments[1]
let rounds = arguments.count > 2 ? Int(arguments[2]) ?? 20 : 20
guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory).filter({ $0.hasSuffix(".json") }).sorted(), !names.isEmpty else {
    print("no *.json reviews in \(directory)")
    exit(2)
}

@inline(never) func blackHole<T>(_ value: T) { withExtendedLifetime(value) {} }

/// The server's path for one review: parse (tape counted), decode, evaluate, decide, encode.
func decide(_ bytes: [UInt8], _ decider: AdmissionDecider) -> (outcome: String, responseBytes: Int) {
    do {
        let decision = try decider.decide(bytes: bytes, limits: JSONLimits(maximumBytes: 7 << 20)) { _ in .unresolved(reason: "not in the image catalog") }
        let response = decision.reviewJSON
        blackHole(response)
        return ("\(decision.outcome.rawValue), \(decision.response.warnings.count) warnings", response.count)
    } catch {
        let text = "\(error)"
        return ("refused: \(text.prefix(60))", 0)
    }
}

func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1e3 + Double(duration.components.attoseconds) / 1e15
}

// WORST_CASE_LIMITS=bounded runs only the shipped limits (for profiling).
let deciders: [(String, AdmissionDecider)] = [
    ("bounded", AdmissionDecider(configuration: DecisionConfiguration())),
    ("unbounded", AdmissionDecider(configuration: DecisionConfiguration(limits: .unbounded))),
].filter { entry in ProcessInfo.processInfo.environment["WORST_CASE_LIMITS"].map { $0 == entry.0 } ?? true }
print("| review | bytes | nodes | limits | min ms | median ms | max ms | outcome |")
print("|---|---:|---:|---|---:|---:|---:|---|")
let clock = ContinuousClock()
for name in names {
    guard let data = FileManager.default.contents(atPath: directory + "/" + name) else { continue }
    let bytes = [UInt8](data)
    let nodes = (try? JSONDocument(parsing: bytes, limits: JSONLimits(maximumBytes: 7 << 20)).nodeCount).map(String.init) ?? "-"
    for (label, decider) in deciders {
        var times: [Double] = []
        var outcome = ""
        for _ in 0..<rounds {
            let start = clock.now
            outcome = decide(bytes, decider).outcome
            times.append(milliseconds(clock.now - start))
        }
        times.sort()
        func f(_ x: Double) -> String { let tenths = Int((x * 10).rounded()); return "\(tenths / 10).\(tenths % 10)" }
        print("| \(name) | \(bytes.count) | \(nodes) | \(label) | \(f(times[0])) | \(f(times[times.count / 2])) | \(f(times[times.count - 1])) | \(outcome) |")
    }
}
