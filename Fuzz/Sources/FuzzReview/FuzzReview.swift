// The whole decision path, bytes to response: AdmissionDecider.decide(bytes:limits:mode:images:)
// under both policies, both modes and every unresolved-image action, with a small image catalog.
// Must never crash; the decision must be consistent with the request and with itself.
import AdmissionCore
import AdmissionModel
import Foundation
import FuzzSupport
import ImageConfig
import ImageResolution
import JSON
import NonRootPolicy

/// Images of every kind of USER the rules distinguish: none, root, a name, a non-root uid, an
/// out-of-range uid, a `uid:gid`, and a multi-platform image with a Windows variant.
let catalog: ImageCatalog = {
    var catalog = try! ImageCatalog(entries: [
        ("nginx:1.27", ""),
        ("busybox", "0"),
        ("ghcr.io/acme/api:2", "64198"),
        ("ghcr.io/acme/api:2.4.1", "10001:10001"),
        ("mcr.microsoft.com/dotnet/samples:aspnetapp", "app"),
        ("registry.k8s.io/pause:3.9", "65535:65535"),
        ("quay.io/big/uid:1", "4294967296"),
        ("quay.io/neg/uid:1", "-1"),
        ("ghcr.io/acme/worker@sha256:4f5e6d7c8b9a0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899a", "65532"),
    ])
    catalog.add(try! ImageReference(parsing: "ghcr.io/acme/multi:1.0"), variants: [
        ImageUserVariant(user: .uid(1000), platform: "linux/amd64"),
        ImageUserVariant(user: .uid(0), platform: "linux/arm64/v8"),
        ImageUserVariant(user: .name("ContainerUser"), platform: "windows/amd64"),
    ])
    catalog.add(try! ImageReference(parsing: "mcr.microsoft.com/windows/nanoserver:ltsc2022"), variants: [
        ImageUserVariant(user: .name("ContainerAdministrator"), platform: "windows/amd64"),
    ])
    return catalog
}()

/// Four configurations that together cover both policies, both modes and all three unresolved actions.
let configurations: [(DecisionConfiguration, EnforcementMode?)] = [
    (DecisionConfiguration(policy: .kubelet, mode: .enforce, unresolved: .warn), nil),
    (DecisionConfiguration(policy: .restricted, mode: .enforce, unresolved: .deny), .dryRun),
    (DecisionConfiguration(policy: .restricted, mode: .dryRun, unresolved: .allow), .enforce),
    (DecisionConfiguration(policy: .kubelet, mode: .dryRun, unresolved: .deny), nil),
]
let deciders = configurations.map { (AdmissionDecider(configuration: $0.0), $0.1) }
/// The server's limits apart from the body size (the fuzzer's inputs are small anyway).
let limits = JSONLimits(maximumDepth: 512, maximumBytes: 1 << 20)
let lookup: ImageUserAnswers = { catalog.lookup($0) }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = fuzzInput(data, size)
    var firstError: String?
    var decoded = 0
    for (index, (decider, mode)) in deciders.enumerated() {
        let decision: Decision
        do {
            decision = try decider.decide(bytes: bytes, limits: limits, mode: mode, images: lookup)
        } catch {
            // Decoding does not depend on the configuration: every decider fails the same way.
            let text = error.description
            require(!text.isEmpty, "empty error")
            if let firstError { require(text == firstError, "deciders disagree on the error: \(text) vs \(firstError)") }
            firstError = text
            require(index == 0 || decoded == 0, "decider \(index) fails where an earlier one decided")
            continue
        }
        require(firstError == nil, "decider \(index) decides where an earlier one failed")
        decoded += 1
        check(decision, bytes: bytes, mode: mode ?? decider.configuration.mode, decider: decider)
    }
    return 0
}

func check(_ decision: Decision, bytes: [UInt8], mode: EnforcementMode, decider: AdmissionDecider) {
    // The same decision through the two-step API.
    let prepared = try! decider.prepare(bytes: bytes, limits: limits)
    let again = decider.decide(prepared, mode: mode, images: lookup)
    require(again.responseJSON == decision.responseJSON, "prepare+decide differs from decide(bytes:)")

    // The response answers this request: its uid, read independently of the model.
    let root = try! JSONDocument(parsing: bytes, limits: limits).root
    let request = prepared.review.isBareRequest ? root : root["request"]!
    let uid = request["uid"]?.string
    require(uid == decision.response.uid, "response uid \(decision.response.uid.debugDescription) is not the request's \(String(describing: uid))")
    require(decision.operation == request["operation"]?.string, "operation differs")
    require(decision.mode == mode, "mode differs")

    // Outcome, mode and response agree.
    switch decision.outcome {
    case .allowed:
        require(decision.response.allowed && decision.response.status == nil, "allowed without allowed=true")
        require(decision.sentences.isEmpty && decision.message == nil, "allowed with a message")
    case .denied:
        require(mode == .enforce, "denied in dry-run")
        require(!decision.response.allowed && decision.response.status?.code == 403, "denied without a 403")
        require(decision.message == decision.sentences.joined(separator: "; "), "denial message is not the sentences")
    case .wouldDeny:
        require(mode == .dryRun, "would-deny in enforce mode")
        require(decision.response.allowed && decision.response.status == nil, "would-deny but not allowed")
        require(decision.response.auditAnnotations.map(\.key) == [AdmissionDecider.wouldDenyAnnotation], "would-deny without its annotation")
    }
    if decision.skipReason != nil {
        require(decision.outcome == .allowed && decision.findings.isEmpty && decision.response.warnings.isEmpty, "a skipped review has findings")
    }
    require(Set(decision.response.warnings).count == decision.response.warnings.count, "duplicate warnings")
    require(decision.findings.count <= decision.sentences.count, "more findings than sentences")

    // The encoded response: valid JSON (ours and Foundation's) that says what the response says.
    let json = decision.responseJSON
    guard let document = try? JSONDocument(parsing: json) else {
        fatalError("responseJSON does not parse: \(show(json))")
    }
    let response = document.root
    require(response["uid"]?.string == decision.response.uid, "encoded uid differs")
    require(response["allowed"]?.bool == decision.response.allowed, "encoded allowed differs")
    require(response["status"]?["code"]?.int64 == decision.response.status.map { Int64($0.code) }, "encoded code differs")
    require(response["status"]?["message"]?.string == decision.response.status?.message, "encoded message differs")
    require((response["warnings"]?.elements.map { $0.string ?? "?" } ?? []) == decision.response.warnings, "encoded warnings differ")
    require(response["auditAnnotations"]?.members.map(\.key) ?? [] == decision.response.auditAnnotations.map(\.key), "encoded annotations differ")
    guard let foundation = (try? JSONSerialization.jsonObject(with: Data(json))) as? [String: Any] else {
        fatalError("Foundation cannot read responseJSON: \(show(json))")
    }
    // Compared scalar by scalar, without U+FEFF: Foundation drops a raw byte order mark at the start
    // of a string segment (the byteOrderMarkInString divergence of the JSON differential tests).
    func scalars(_ text: String) -> [Unicode.Scalar] { text.unicodeScalars.filter { $0 != "\u{FEFF}" } }
    require((foundation["uid"] as? String).map(scalars) == scalars(decision.response.uid), "Foundation reads another uid from responseJSON")

    // The whole review carries the response byte for byte.
    let review = try! JSONDocument(parsing: decision.reviewJSON).root
    require(review["apiVersion"]?.string == decision.apiVersion.rawValue, "review apiVersion differs")
    require(review["kind"]?.string == "AdmissionReview", "review kind")
    require(review["response"].map { Array($0.rawBytes) } == json, "review does not carry responseJSON")
}
