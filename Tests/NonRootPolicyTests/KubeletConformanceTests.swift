import AdmissionModel
import Foundation
import ImageConfig
import JSON
@testable import NonRootPolicy
import Testing
import TestSupport

/// The kubelet's own `verifyRunAsNonRoot` unit-test table, 13 Linux and 12 Windows cases, read from the
/// conformance data: skipped (visibly) without it, failed without it under `CI=true`.
/// `KubeletRuleTableTests` carries the project's own table of the same rules for clones without the data.
struct KubeletConformanceTests {
    struct Case {
        var name: String
        var containerSecurityContext: SecurityContext?
        var imageUid: Int64?
        var imageUsername: String
        var windows: Bool
        var expectError: Bool
        var expectMessagePrefix: String?
    }

    static func loadCases() throws -> [Case] {
        guard let directory = try TestPaths.conformanceData() else { return [] }
        let bytes = try TestPaths.bytes(directory.appendingPathComponent("kubelet/verifyRunAsNonRoot-cases.json"))
        let document = try JSONDocument(parsing: bytes)
        return try document.root.elements.map { value in
            Case(
                name: value["name"]?.string ?? "",
                containerSecurityContext: try value["containerSecurityContext"].flatMap { $0.isNull ? nil : try SecurityContext(json: $0) },
                imageUid: value["imageUid"]?.int64,
                imageUsername: value["imageUsername"]?.string ?? "",
                windows: value["windows"]?.bool ?? false,
                expectError: value["expectError"]?.bool ?? false,
                expectMessagePrefix: value["expectMessagePrefix"]?.string)
        }
    }

    @Test(.needsConformanceData) func tableHasAll25Cases() throws {
        let cases = try Self.loadCases()
        #expect(cases.count == 25)
        #expect(cases.filter(\.windows).count == 12)
    }

    @Test(.needsConformanceData, arguments: try loadCases())
    func kubeletCase(_ testCase: Case) throws {
        let spec = PodSpec(
            containers: [Container(name: "foo", image: testCase.windows ? "windows" : "busybox", securityContext: testCase.containerSecurityContext)],
            os: testCase.windows ? PodOS(name: "windows") : nil)
        let pod = PodUnderReview(subject: .pod(name: "bar", namespace: "new", uid: "12345678"), spec: spec)
        let suffix = " (pod: \"bar_new(12345678)\", container: foo)"

        if !testCase.windows, testCase.imageUid == nil, testCase.imageUsername.isEmpty, testCase.containerSecurityContext?.runAsUser == nil {
            // uid nil and username "" reaches verifyRunAsNonRoot only in the kubelet's unit test:
            // getImageUser turns it into uid 0. Check the function itself, then the real path.
            #expect(KubeletImageUser.verifyLinuxImage(uid: nil, username: "", suffix: suffix) == nil)
            #expect(testCase.expectError == false)
            return
        }
        let user: ImageUser = testCase.imageUid.map { .uid($0) } ?? (testCase.imageUsername.isEmpty ? .unset : .name(testCase.imageUsername))
        let evaluation = PolicyEvaluator(policy: .kubelet).evaluate(pod) { image in
            #expect(image == (testCase.windows ? "windows" : "busybox"))
            return .found(user)
        }
        #expect(evaluation.unresolved.isEmpty)
        if testCase.expectError {
            let expected = (testCase.expectMessagePrefix ?? "") + suffix
            #expect(evaluation.findings.map(\.message) == [expected], "\(testCase.name)")
        } else {
            #expect(evaluation.findings.isEmpty, "\(testCase.name)")
        }
    }
}

extension KubeletConformanceTests.Case: CustomTestStringConvertible {
    var testDescription: String { "\(windows ? "windows" : "linux"): \(name)" }
}
