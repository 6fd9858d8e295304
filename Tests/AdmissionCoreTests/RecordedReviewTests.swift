import AdmissionCore
import AdmissionModel
import Foundation
import ImageResolution
import NonRootPolicy
import Testing
import TestSupport

/// Every recorded AdmissionReview and AdmissionRequest of the conformance data decodes and gets an answer.
/// Skipped (visibly) without the data; failed without it under `CI=true`.
struct RecordedReviewTests {
    static func files() throws -> [URL] {
        guard let directory = try TestPaths.conformanceData() else { return [] }
        return TestPaths.files(in: directory.appendingPathComponent("recorded-reviews"), withExtension: "json")
    }

    func decide(_ url: URL, _ configuration: DecisionConfiguration, catalog: ImageCatalog = ImageCatalog()) throws -> Decision {
        let decider = AdmissionDecider(configuration: configuration)
        let prepared = try decider.prepare(try AdmissionReviewRequest.decode(try TestPaths.bytes(url)))
        return decider.decide(prepared) { catalog.lookup($0) }
    }

    @Test(.needsConformanceData) func all26FilesArePresent() throws {
        #expect(try Self.files().count == 26)
    }

    @Test(.needsConformanceData, arguments: try files())
    func decodesAndAnswers(_ url: URL) throws {
        let review = try AdmissionReviewRequest.decode(try TestPaths.bytes(url))
        #expect(!review.request.uid.isEmpty)
        let decision = try decide(url, DecisionConfiguration())
        // None of these opts into runAsNonRoot except panic.json, whose images are unknown here.
        #expect(decision.outcome == .allowed, "\(url.lastPathComponent)")
        #expect(decision.response.uid == review.request.uid)
        let restricted = try decide(url, DecisionConfiguration(policy: .restricted, unresolved: .allow))
        // Only panic.json sets runAsNonRoot for the whole pod; every other recorded pod misses it somewhere.
        let expected: Decision.Outcome = url.lastPathComponent == "panic.json" ? .allowed : .denied
        #expect(restricted.outcome == expected, "\(url.lastPathComponent)")
    }

    @Test(.needsConformanceData) func controllerCreatedPodWithRootImage() throws {
        guard let directory = try TestPaths.conformanceData() else { return }
        let url = directory.appendingPathComponent("recorded-reviews/kubewarden-capabilities-psp-policy/panic.json")
        let unknown = try decide(url, DecisionConfiguration())
        #expect(unknown.response.warnings == [
            #"container "kube-rbac-proxy": cannot verify the USER of image gcr.io/kubebuilder/kube-rbac-proxy:v0.8.0: not in the image catalog; allowed by --unresolved=warn"#,
            #"container "manager": cannot verify the USER of image registry-testing.svc.lan/kubewarden-controller:v0.2.0: not in the image catalog; allowed by --unresolved=warn"#,
        ])
        let catalog = try ImageCatalog(entries: [
            ("gcr.io/kubebuilder/kube-rbac-proxy:v0.8.0", "65532:65532"),
            ("registry-testing.svc.lan/kubewarden-controller:v0.2.0", ""),
        ])
        let known = try decide(url, DecisionConfiguration(), catalog: catalog)
        // A mutating-webhook capture: no name and no uid, as format.Pod would print them.
        #expect(known.response.status?.message == #"container has runAsNonRoot and image will run as root (pod: "_kubewarden()", container: manager)"#)
    }

    @Test(.needsConformanceData) func restrictedNamesTheWorkload() throws {
        guard let directory = try TestPaths.conformanceData() else { return }
        let url = directory.appendingPathComponent("recorded-reviews/kubewarden-user-group-psp-policy/deployment_root_user.json")
        let decision = try decide(url, DecisionConfiguration(policy: .restricted), catalog: try ImageCatalog(entries: [("nginx:latest", "")]))
        #expect(decision.response.status?.message == #"violates PodSecurity "restricted:latest": runAsNonRoot != true (pod or container "nginx" must set securityContext.runAsNonRoot=true), runAsUser=0 (container "nginx" must not set runAsUser=0)"#)
    }
}
