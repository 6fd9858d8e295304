import AdmissionModel
@testable import NonRootPolicy
import Testing

/// Pod Security's runAsNonRoot and runAsUser checks, with the golden details of its unit tests.
struct PodSecurityCheckTests {
    func detail(_ check: PodCheck, _ spec: PodSpec) -> String? {
        check.evaluate(PodUnderReview(subject: .pod(name: "p", namespace: "n", uid: "u"), spec: spec)).map {
            "\($0.forbiddenReason) (\($0.forbiddenDetail))"
        }
    }

    func containers(_ names: [String], runAsNonRoot: Bool? = nil, runAsUser: Int64? = nil) -> [Container] {
        names.map { Container(name: $0, image: "x", securityContext: runAsNonRoot == nil && runAsUser == nil ? nil : SecurityContext(runAsUser: runAsUser, runAsNonRoot: runAsNonRoot)) }
    }

    @Test func runAsNonRootGoldenDetails() {
        #expect(detail(.runAsNonRoot, PodSpec(containers: containers(["a"]))) == #"runAsNonRoot != true (pod or container "a" must set securityContext.runAsNonRoot=true)"#)
        #expect(detail(.runAsNonRoot, PodSpec(containers: containers(["a", "b"]))) == #"runAsNonRoot != true (pod or containers "a", "b" must set securityContext.runAsNonRoot=true)"#)
        #expect(detail(.runAsNonRoot, PodSpec(containers: containers(["a"]), securityContext: PodSecurityContext(runAsNonRoot: false))) == #"runAsNonRoot != true (pod must not set securityContext.runAsNonRoot=false)"#)
        #expect(detail(.runAsNonRoot, PodSpec(containers: containers(["a", "b"]) + containers(["c", "d"], runAsNonRoot: false), securityContext: PodSecurityContext(runAsNonRoot: true)))
            == #"runAsNonRoot != true (containers "c", "d" must not set securityContext.runAsNonRoot=false)"#)
        #expect(detail(.runAsNonRoot, PodSpec(containers: containers(["c"], runAsNonRoot: false), securityContext: PodSecurityContext(runAsNonRoot: false)))
            == #"runAsNonRoot != true (pod and container "c" must not set securityContext.runAsNonRoot=false)"#)
        #expect(detail(.runAsNonRoot, PodSpec(containers: containers(["a"]), securityContext: PodSecurityContext(runAsNonRoot: true))) == nil)
        #expect(detail(.runAsNonRoot, PodSpec(containers: containers(["a"]), hostUsers: false)) == nil)
    }

    @Test func runAsUserGoldenDetails() {
        #expect(detail(.runAsUser, PodSpec(containers: containers(["a"]), securityContext: PodSecurityContext(runAsUser: 0))) == "runAsUser=0 (pod must not set runAsUser=0)")
        #expect(detail(.runAsUser, PodSpec(containers: containers(["b"]) + containers(["c", "d"], runAsUser: 0))) == #"runAsUser=0 (containers "c", "d" must not set runAsUser=0)"#)
        #expect(detail(.runAsUser, PodSpec(containers: containers(["a"], runAsUser: 1000), securityContext: PodSecurityContext(runAsUser: 1000))) == nil)
        #expect(detail(.runAsUser, PodSpec(containers: containers(["a"], runAsUser: 0), hostUsers: false)) == nil)
    }

    @Test func restrictedAggregatesAfterKubeletSentences() {
        let spec = PodSpec(
            initContainers: [Container(name: "initcontainer1", image: "i")],
            containers: [Container(name: "container1", image: "c", securityContext: SecurityContext(runAsUser: 0))],
            securityContext: PodSecurityContext(runAsNonRoot: true))
        let pod = PodUnderReview(subject: .pod(name: "runasuser1", namespace: "default", uid: ""), spec: spec)
        let result = PolicyEvaluator(policy: .restricted).evaluate(pod) { _ in .found(.uid(65535)) }
        #expect(result.findings.map(\.message) == [
            #"container's runAsUser breaks non-root policy (pod: "runasuser1_default()", container: container1)"#,
            #"violates PodSecurity "restricted:latest": runAsUser=0 (container "container1" must not set runAsUser=0)"#,
        ])
    }

    @Test func restrictedChecksImagesEvenBeforeOptIn() {
        let spec = PodSpec(containers: [Container(name: "app", image: "nginx")])
        let pod = PodUnderReview(subject: .pod(name: "p", namespace: "n", uid: "u"), spec: spec)
        let result = PolicyEvaluator(policy: .restricted).evaluate(pod) { _ in .found(.unset) }
        #expect(result.findings.map(\.message) == [
            #"container has runAsNonRoot and image will run as root (pod: "p_n(u)", container: app)"#,
            #"violates PodSecurity "restricted:latest": runAsNonRoot != true (pod or container "app" must set securityContext.runAsNonRoot=true)"#,
        ])
        // The kubelet policy allows the same pod: it never opted in.
        #expect(PolicyEvaluator(policy: .kubelet).evaluate(pod) { _ in .found(.unset) }.findings.isEmpty)
        // A non-zero runAsUser satisfies the image rule, not Pod Security's runAsNonRoot.
        let withUser = PodUnderReview(subject: .pod(name: "p", namespace: "n", uid: "u"), spec: PodSpec(containers: [Container(name: "app", image: "nginx", securityContext: SecurityContext(runAsUser: 1000))]))
        #expect(PolicyEvaluator(policy: .restricted).evaluate(withUser) { _ in .found(.unset) }.findings.map(\.check) == ["podSecurity"])
    }
}

struct ContainerSelectionTests {
    @Test func updateSelectsNewAndChangedContainersOnly() {
        let old = PodSpec(containers: [Container(name: "a", image: "a:1"), Container(name: "b", image: "b:1")])
        let new = PodSpec(
            containers: [Container(name: "a", image: "a:1"), Container(name: "b", image: "b:2")],
            ephemeralContainers: [Container(name: "debug", image: "busybox")])
        let selection = ContainerSelection.changed(from: old, to: new)
        #expect(!selection.contains(kind: .container, position: 0))
        #expect(selection.contains(kind: .container, position: 1))
        #expect(selection.contains(kind: .ephemeralContainer, position: 0))
        #expect(selection.positions(of: .container, count: 2) == [1])
        #expect(selection.count(in: new) == 2)
        #expect(ContainerSelection.changed(from: old, to: old).isEmpty)
    }

    @Test func reorderedContainersAreMatchedByName() {
        let old = PodSpec(containers: [Container(name: "a", image: "a:1"), Container(name: "b", image: "b:1"), Container(name: "c", image: "c:1")])
        let new = PodSpec(containers: [old.containers[2], old.containers[0], Container(name: "b", image: "b:2")])
        let selection = ContainerSelection.changed(from: old, to: new)
        #expect(selection.positions(of: .container, count: 3) == [2])
    }

    @Test func podLevelChangeSelectsEverything() {
        let old = PodSpec(containers: [Container(name: "a", image: "a:1")])
        let new = PodSpec(containers: old.containers, securityContext: PodSecurityContext(runAsNonRoot: true))
        #expect(ContainerSelection.changed(from: old, to: new) == .all)
    }
}
