import AdmissionCore
import AdmissionModel
import NonRootPolicy
import Testing

/// The node's OS decides the kubelet rules, whether or not `spec.os` says it: whole reviews, byte for byte.
struct NodeOSDecisionTests {
    static let uid = "705ab4f5-6393-11e8-b7cc-42010a800002"
    static let administrator = #"{"runAsNonRoot":true,"windowsOptions":{"runAsUserName":"ContainerAdministrator"}}"#

    /// The Kubernetes Windows e2e shape: `nodeSelector: kubernetes.io/os: windows` and no `spec.os`.
    static func pod(nodeSelector: String = #"{"kubernetes.io/os":"windows"}"#, podSC: String = #"{"runAsNonRoot":true}"#, containerSC: String = "null", image: String = "nginx:1.27") -> String {
        #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"shop","uid":"9d1b8a7c-0000-4000-8000-000000000001"},"spec":{"nodeSelector":\#(nodeSelector),"securityContext":\#(podSC),"containers":[{"name":"app","image":"\#(image)","securityContext":\#(containerSC)}]}}"#
    }

    static func deployment(nodeSelector: String) -> String {
        #"{"metadata":{"name":"web","namespace":"shop"},"spec":{"template":{"spec":{"nodeSelector":\#(nodeSelector),"securityContext":\#(administrator),"containers":[{"name":"app","image":"ghcr.io/acme/api:2"}]}}}}"#
    }

    func prepare(_ bytes: [UInt8]) throws -> (AdmissionDecider, PreparedReview) {
        let decider = AdmissionDecider(configuration: .init())
        return (decider, try decider.prepare(try AdmissionReviewRequest.decode(bytes)))
    }

    func decide(_ bytes: [UInt8]) throws -> Decision {
        let (decider, prepared) = try prepare(bytes)
        return decider.decide(prepared) { AdmissionDeciderTests.catalog.lookup($0) }
    }

    func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test func windowsNodeSelectorWithAdministratorIsDeniedInTheWindowsWords() throws {
        let review = AdmissionDeciderTests.review(object: Self.pod(podSC: Self.administrator, image: "ghcr.io/acme/api:2"))
        let (_, prepared) = try prepare(review)
        // runAsUserName decides on Windows: no image is needed.
        #expect(prepared.imagesNeeded == [])
        let decision = try decide(review)
        #expect(decision.outcome == .denied)
        #expect(text(decision.reviewJSON) == #"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"705ab4f5-6393-11e8-b7cc-42010a800002","allowed":false,"status":{"status":"Failure","message":"container's runAsUserName (ContainerAdministrator) which will be regarded as root identity and will break non-root policy (pod: \"web_shop(9d1b8a7c-0000-4000-8000-000000000001)\", container: app)","reason":"Forbidden","code":403},"warnings":["container \"app\" sets windowsOptions.runAsUserName=ContainerAdministrator; use a non-administrator account such as ContainerUser"]}}"#)
    }

    @Test func windowsNodeSelectorAllowsWhatOnlyLinuxRefuses() throws {
        let allowed = #"{"uid":"705ab4f5-6393-11e8-b7cc-42010a800002","allowed":true}"#
        // An image with no USER (nginx:1.27 in the catalog).
        let noUser = try decide(AdmissionDeciderTests.review(object: Self.pod()))
        #expect(text(noUser.responseJSON) == allowed)
        // runAsUser 0, which the Windows kubelet only logs.
        let zero = try decide(AdmissionDeciderTests.review(object: Self.pod(containerSC: #"{"runAsUser":0}"#, image: "ghcr.io/acme/api:2")))
        #expect(text(zero.responseJSON) == allowed)
        // The same pods without the selector may land on Linux, which refuses them.
        let either = try decide(AdmissionDeciderTests.review(object: Self.pod(nodeSelector: "{}")))
        #expect(either.response.status?.message == #"container has runAsNonRoot and image will run as root (pod: "web_shop(9d1b8a7c-0000-4000-8000-000000000001)", container: app)"#)
    }

    @Test func noNodeOSIsAllowedWithAWarning() throws {
        let decision = try decide(AdmissionDeciderTests.review(object: Self.pod(nodeSelector: #"{"kubernetes.io/os":"darwin"}"#)))
        #expect(decision.outcome == .allowed)
        #expect(text(decision.responseJSON) == #"{"uid":"705ab4f5-6393-11e8-b7cc-42010a800002","allowed":true,"warnings":["pod \"web\": no node OS satisfies nodeSelector kubernetes.io/os=\"darwin\", so no kubelet will start its containers; they were not checked"]}"#)
        let (_, prepared) = try prepare(AdmissionDeciderTests.review(object: Self.pod(nodeSelector: #"{"kubernetes.io/os":"darwin"}"#)))
        #expect(prepared.imagesNeeded == [])
    }

    @Test func templateUpdateThatMovesToWindowsReevaluatesEveryContainer() throws {
        let kind = #"{"group":"apps","version":"v1","kind":"Deployment"}"#
        let onLinux = Self.deployment(nodeSelector: #"{"kubernetes.io/os":"linux"}"#)
        let onWindows = Self.deployment(nodeSelector: #"{"kubernetes.io/os":"windows"}"#)
        let unchanged = try decide(AdmissionDeciderTests.review(operation: "UPDATE", kind: kind, object: onLinux, oldObject: onLinux))
        #expect(unchanged.skipReason == "UPDATE changes no container image or security context")
        // On Linux the Windows options mean nothing and the image has a numeric USER.
        #expect(try decide(AdmissionDeciderTests.review(kind: kind, object: onLinux)).outcome == .allowed)
        let moved = try decide(AdmissionDeciderTests.review(operation: "UPDATE", kind: kind, object: onWindows, oldObject: onLinux))
        #expect(moved.skipReason == nil)
        #expect(moved.sentences == [#"container's runAsUserName (ContainerAdministrator) which will be regarded as root identity and will break non-root policy (deployment: "shop/web", container: app)"#])
        let affinity = #"{"metadata":{"name":"web","namespace":"shop"},"spec":{"template":{"spec":{"nodeSelector":{"kubernetes.io/os":"linux"},"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"kubernetes.io/os","operator":"In","values":["windows"]}]}]}}},"securityContext":\#(Self.administrator),"containers":[{"name":"app","image":"ghcr.io/acme/api:2"}]}}}}"#
        let narrowed = try decide(AdmissionDeciderTests.review(operation: "UPDATE", kind: kind, object: affinity, oldObject: onLinux))
        #expect(narrowed.skipReason == nil)
        #expect(narrowed.outcome == .allowed)
        #expect(narrowed.response.warnings == [#"deployment "shop/web": no node OS satisfies nodeSelector kubernetes.io/os="linux" and required node affinity, so no kubelet will start its containers; they were not checked"#])
    }
}
