import AdmissionModel
import ImageConfig
import JSON
@testable import NonRootPolicy
import Testing

/// Which node OSes `spec.os`, `nodeSelector` and required node affinity leave (k8s-semantics.md §10.E).
struct NodeOSHintTests {
    static func expression(_ op: String, _ values: [String] = [], key: String = NodeOS.label) -> NodeSelectorRequirement {
        NodeSelectorRequirement(key: key, operator: op, values: values)
    }

    static func affinity(_ terms: [NodeSelectorRequirement]...) -> NodeSelector {
        NodeSelector(nodeSelectorTerms: terms.map { NodeSelectorTerm(matchExpressions: $0) })
    }

    struct Row: Sendable, CustomTestStringConvertible {
        var name: String
        var os: String? = nil
        var nodeSelector: [String: String] = [:]
        var affinity: NodeSelector? = nil
        var expected: [NodeOS]
        var testDescription: String { name }
    }

    static let rows: [Row] = [
        Row(name: "no hints: either OS", expected: [.linux, .windows]),
        // Each source alone.
        Row(name: "spec.os linux", os: "linux", expected: [.linux]),
        Row(name: "spec.os windows", os: "windows", expected: [.windows]),
        Row(name: "spec.os darwin", os: "darwin", expected: []),
        Row(name: "nodeSelector windows", nodeSelector: ["kubernetes.io/os": "windows"], expected: [.windows]),
        Row(name: "nodeSelector linux", nodeSelector: ["kubernetes.io/os": "linux"], expected: [.linux]),
        Row(name: "nodeSelector values are case-sensitive labels", nodeSelector: ["kubernetes.io/os": "Windows"], expected: []),
        Row(name: "nodeSelector on other keys restricts no OS", nodeSelector: ["kubernetes.io/arch": "arm64", "beta.kubernetes.io/os": "windows"], expected: [.linux, .windows]),
        Row(name: "affinity In windows", affinity: affinity([expression("In", ["windows"])]), expected: [.windows]),
        Row(name: "affinity In both", affinity: affinity([expression("In", ["windows", "linux"])]), expected: [.linux, .windows]),
        Row(name: "affinity NotIn windows", affinity: affinity([expression("NotIn", ["windows"])]), expected: [.linux]),
        Row(name: "affinity Exists", affinity: affinity([expression("Exists")]), expected: [.linux, .windows]),
        Row(name: "affinity DoesNotExist", affinity: affinity([expression("DoesNotExist")]), expected: []),
        Row(name: "affinity Gt never matches an OS name", affinity: affinity([expression("Gt", ["1"])]), expected: []),
        Row(name: "affinity Lt never matches an OS name", affinity: affinity([expression("Lt", ["1"])]), expected: []),
        Row(name: "affinity In with no values is invalid", affinity: affinity([expression("In")]), expected: []),
        Row(name: "affinity unknown operator", affinity: affinity([expression("in", ["linux"])]), expected: []),
        Row(name: "affinity terms are ORed", affinity: affinity([expression("In", ["linux"])], [expression("In", ["windows"])]), expected: [.linux, .windows]),
        Row(name: "affinity expressions are ANDed", affinity: affinity([expression("In", ["linux", "windows"]), expression("NotIn", ["linux"])]), expected: [.windows]),
        Row(name: "affinity on other keys is assumed satisfiable", affinity: affinity([expression("In", ["a"], key: "topology.kubernetes.io/zone"), expression("In", ["linux"])]), expected: [.linux]),
        Row(name: "affinity empty term matches nothing", affinity: affinity([]), expected: []),
        Row(name: "affinity empty term ORed with a real one", affinity: affinity([], [expression("In", ["windows"])]), expected: [.windows]),
        Row(name: "affinity no terms matches nothing", affinity: NodeSelector(nodeSelectorTerms: []), expected: []),
        Row(name: "affinity matchFields only is assumed satisfiable",
            affinity: NodeSelector(nodeSelectorTerms: [NodeSelectorTerm(matchFields: [expression("In", ["node-1"], key: "metadata.name")])]), expected: [.linux, .windows]),
        // Combinations intersect.
        Row(name: "spec.os windows and nodeSelector windows", os: "windows", nodeSelector: ["kubernetes.io/os": "windows"], expected: [.windows]),
        Row(name: "spec.os linux and nodeSelector windows", os: "linux", nodeSelector: ["kubernetes.io/os": "windows"], expected: []),
        Row(name: "nodeSelector linux and affinity In windows", nodeSelector: ["kubernetes.io/os": "linux"], affinity: affinity([expression("In", ["windows"])]), expected: []),
        Row(name: "spec.os windows and affinity NotIn linux", os: "windows", affinity: affinity([expression("NotIn", ["linux"])]), expected: [.windows]),
        Row(name: "all three agree on linux", os: "linux", nodeSelector: ["kubernetes.io/os": "linux"], affinity: affinity([expression("In", ["linux", "windows"])]), expected: [.linux]),
    ]

    @Test(arguments: rows)
    func hinted(_ row: Row) {
        let spec = PodSpec(os: row.os.map(PodOS.init), nodeSelector: row.nodeSelector, requiredNodeAffinity: row.affinity)
        #expect(NodeOS.hinted(by: spec) == row.expected)
    }

    @Test func decodedFromThePodSpec() throws {
        let json = #"""
        {"containers":[],"nodeSelector":{"kubernetes.io/os":"linux","disk":"ssd","kubernetes.io/os":"windows"},
         "affinity":{"nodeAffinity":{
           "requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[
             {"matchExpressions":[{"key":"kubernetes.io/os","operator":"In","values":["windows"]}],
              "matchFields":[{"key":"metadata.name","operator":"NotIn","values":["n1"]}]},
             {"matchExpressions":[{"key":"kubernetes.io/os","operator":"Exists"}]}]},
           "preferredDuringSchedulingIgnoredDuringExecution":[{"weight":1,"preference":{"matchExpressions":[{"key":"kubernetes.io/os","operator":"In","values":["linux"]}]}}]},
          "podAffinity":{}}}
        """#
        let spec = try PodSpec(json: try JSONDocument(parsing: json).root)
        // Go's decoder keeps the last of duplicate keys.
        #expect(spec.nodeSelector == ["kubernetes.io/os": "windows", "disk": "ssd"])
        #expect(spec.requiredNodeAffinity == NodeSelector(nodeSelectorTerms: [
            NodeSelectorTerm(
                matchExpressions: [NodeSelectorRequirement(key: "kubernetes.io/os", operator: "In", values: ["windows"])],
                matchFields: [NodeSelectorRequirement(key: "metadata.name", operator: "NotIn", values: ["n1"])]),
            NodeSelectorTerm(matchExpressions: [NodeSelectorRequirement(key: "kubernetes.io/os", operator: "Exists")]),
        ]))
        #expect(NodeOS.hinted(by: spec) == [.windows])
        // Preferred affinity alone restricts nothing; null members are absent.
        let preferred = try PodSpec(json: try JSONDocument(parsing: #"{"nodeSelector":null,"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":null,"preferredDuringSchedulingIgnoredDuringExecution":[]}}}"#).root)
        #expect(preferred.nodeSelector.isEmpty && preferred.requiredNodeAffinity == nil)
        #expect(NodeOS.hinted(by: preferred) == [.linux, .windows])
    }

    @Test(arguments: [
        (#"{"nodeSelector":{"kubernetes.io/os":1}}"#, "nodeSelector.kubernetes.io/os: expected a string, found a number"),
        (#"{"nodeSelector":["windows"]}"#, "nodeSelector: expected an object, found an array"),
        (#"{"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":{}}}}}"#,
         "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms: expected an array, found an object"),
        (#"{"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":["x"]}}}}"#,
         "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]: expected a node selector term object, found a string"),
        (#"{"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"kubernetes.io/os","operator":"In","values":[true]}]}]}}}}"#,
         "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values[0]: expected a string, found a boolean"),
        (#"{"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchFields":[7]}]}}}}"#,
         "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[0]: expected a node selector requirement object, found a number"),
    ])
    func badHintsAreClearErrors(_ json: String, _ expected: String) throws {
        let root = try JSONDocument(parsing: json).root
        do {
            _ = try PodSpec(json: root)
            Issue.record("expected an error for \(json)")
        } catch {
            #expect(error.description == expected)
        }
    }
}

/// Each possible node OS judged under its own kubelet rules.
struct NodeOSEvaluationTests {
    static let subject = Subject.pod(name: "web", namespace: "shop", uid: "0b5f1c9e-1d2a-4c55-9a43-5c6f0a3e2d11")
    static let suffix = #"(pod: "web_shop(0b5f1c9e-1d2a-4c55-9a43-5c6f0a3e2d11)", container: app)"#
    static let windowsRunAsUserName = "container's runAsUserName (ContainerAdministrator) which will be regarded as root identity and will break non-root policy " + suffix
    static let windowsImageUser = "container's runAsUser (ContainerAdministrator) which will be regarded as root identity and will break non-root policy " + suffix
    static let linuxWillRunAsRoot = "container has runAsNonRoot and image will run as root " + suffix
    static let linuxRunAsUserZero = "container's runAsUser breaks non-root policy " + suffix
    static let linuxNonNumeric = "container has runAsNonRoot and image has non-numeric user (ContainerAdministrator), cannot verify user is non-root " + suffix
    static let onWindowsNodes = ["kubernetes.io/os": "windows"]
    static let administrator = WindowsSecurityContextOptions(runAsUserName: "ContainerAdministrator")

    static func spec(
        container: SecurityContext? = nil, pod: PodSecurityContext? = PodSecurityContext(runAsNonRoot: true),
        os: String? = nil, nodeSelector: [String: String] = [:], affinity: NodeSelector? = nil
    ) -> PodSpec {
        PodSpec(
            containers: [Container(name: "app", image: "registry.example/app:1", securityContext: container)],
            securityContext: pod, os: os.map(PodOS.init), nodeSelector: nodeSelector, requiredNodeAffinity: affinity)
    }

    /// Evaluates and checks that `imagesNeeded` names exactly the images `evaluate` asked for.
    static func evaluate(_ spec: PodSpec, policy: PolicyName = .kubelet, _ lookup: (String) -> ImageUserLookup) -> Evaluation {
        let pod = PodUnderReview(subject: subject, spec: spec)
        let evaluator = PolicyEvaluator(policy: policy)
        var asked: [String] = []
        let evaluation = evaluator.evaluate(pod) { image in
            if !asked.contains(image) { asked.append(image) }
            return lookup(image)
        }
        #expect(evaluator.imagesNeeded(for: pod) == asked)
        return evaluation
    }

    static func evaluate(_ spec: PodSpec, policy: PolicyName = .kubelet, user: ImageUser) -> Evaluation {
        evaluate(spec, policy: policy) { _ in .found(user) }
    }

    // The Kubernetes Windows e2e shape: nodeSelector kubernetes.io/os: windows, no spec.os.

    @Test func e2eShapeRunAsUserNameAdministratorIsDenied() {
        let result = Self.evaluate(Self.spec(container: SecurityContext(windowsOptions: Self.administrator), nodeSelector: Self.onWindowsNodes), user: .uid(1000))
        #expect(result.findings.map(\.message) == [Self.windowsRunAsUserName])
        #expect(result.findings.map(\.hint) == [#"container "app" sets windowsOptions.runAsUserName=ContainerAdministrator; use a non-administrator account such as ContainerUser"#])
        #expect(result.unresolved.isEmpty)
    }

    @Test func e2eShapeImageWithoutUserIsAllowed() {
        #expect(Self.evaluate(Self.spec(nodeSelector: Self.onWindowsNodes), user: .unset).entries.isEmpty)
    }

    @Test func e2eShapeRunAsUserZeroIsAllowed() {
        #expect(Self.evaluate(Self.spec(container: SecurityContext(runAsUser: 0), nodeSelector: Self.onWindowsNodes), user: .unset).entries.isEmpty)
    }

    @Test func e2eShapeImageUserAdministratorIsDenied() {
        #expect(Self.evaluate(Self.spec(nodeSelector: Self.onWindowsNodes), user: .name("ContainerAdministrator")).findings.map(\.message) == [Self.windowsImageUser])
    }

    @Test func requiredAffinityAloneSelectsWindows() {
        let affinity = NodeSelector(nodeSelectorTerms: [NodeSelectorTerm(matchExpressions: [NodeSelectorRequirement(key: NodeOS.label, operator: "In", values: ["windows"])])])
        #expect(Self.evaluate(Self.spec(container: SecurityContext(runAsUser: 0), affinity: affinity), user: .unset).entries.isEmpty)
        #expect(Self.evaluate(Self.spec(container: SecurityContext(windowsOptions: Self.administrator), affinity: affinity), user: .unset).findings.map(\.message) == [Self.windowsRunAsUserName])
    }

    @Test func linuxHintsIgnoreWindowsOptions() {
        let administrator = SecurityContext(runAsUser: 1000, windowsOptions: Self.administrator)
        #expect(Self.evaluate(Self.spec(container: administrator, os: "linux"), user: .unset).entries.isEmpty)
        #expect(Self.evaluate(Self.spec(container: administrator, nodeSelector: ["kubernetes.io/os": "linux"]), user: .unset).entries.isEmpty)
    }

    // A pod that may land on either OS: a refusal under either is reported.

    @Test func eitherOSDeniedByTheWindowsRuleOnly() {
        let result = Self.evaluate(Self.spec(container: SecurityContext(windowsOptions: Self.administrator)), user: .uid(1000))
        #expect(result.findings.map(\.message) == [Self.windowsRunAsUserName])
    }

    @Test func eitherOSDeniedByTheLinuxRuleOnly() {
        #expect(Self.evaluate(Self.spec(), user: .unset).findings.map(\.message) == [Self.linuxWillRunAsRoot])
        #expect(Self.evaluate(Self.spec(container: SecurityContext(runAsUser: 0)), user: .uid(1000)).findings.map(\.message) == [Self.linuxRunAsUserZero])
    }

    @Test func eitherOSDeniedByBothRulesInOSOrder() {
        #expect(Self.evaluate(Self.spec(), user: .name("ContainerAdministrator")).findings.map(\.message) == [Self.linuxNonNumeric, Self.windowsImageUser])
    }

    @Test func eitherOSAllowedWhenBothRulesAllow() {
        #expect(Self.evaluate(Self.spec(), user: .uid(1000)).entries.isEmpty)
        #expect(Self.evaluate(Self.spec(container: SecurityContext(runAsUser: 1000)), user: .name("ContainerUser")).entries.isEmpty)
    }

    @Test func anUnresolvedImageIsReportedOnce() {
        let result = Self.evaluate(Self.spec()) { _ in .unresolved(reason: "not in the image catalog") }
        #expect(result.unresolved == [UnresolvedImage(container: "app", image: "registry.example/app:1", reason: "not in the image catalog", subject: Self.subject)])
        #expect(result.findings.isEmpty)
    }

    @Test func aRefusalOnOneOSAndAnUnknownImageOnTheOther() {
        // Windows refuses on runAsUserName alone; Linux needs the image, which is unknown.
        let result = Self.evaluate(Self.spec(container: SecurityContext(windowsOptions: Self.administrator))) { _ in .unresolved(reason: "not in the image catalog") }
        #expect(result.entries == [
            .unresolved(UnresolvedImage(container: "app", image: "registry.example/app:1", reason: "not in the image catalog", subject: Self.subject)),
            .finding(Finding(check: "verifyRunAsNonRoot", container: "app", message: Self.windowsRunAsUserName,
                             hint: #"container "app" sets windowsOptions.runAsUserName=ContainerAdministrator; use a non-administrator account such as ContainerUser"#)),
        ])
    }

    // Image platforms narrow the OSes.

    @Test func aWindowsOnlyImageWithNoHintsIsJudgedByTheWindowsRules() {
        let administrator = Self.evaluate(Self.spec()) { _ in .found([ImageUserVariant(user: .name("ContainerAdministrator"), platform: "windows/amd64")]) }
        #expect(administrator.findings.map(\.message) == [Self.windowsImageUser])
        #expect(administrator.unresolved.isEmpty)
        // runAsUser 0 and an image without a user: both pass on Windows.
        let root = Self.evaluate(Self.spec(container: SecurityContext(runAsUser: 0))) { _ in .found([ImageUserVariant(user: .unset, platform: "windows/amd64")]) }
        #expect(root.entries.isEmpty)
    }

    @Test func aLinuxOnlyImageRulesOutWindows() {
        let linuxOnly: ImageUserLookup = .found([ImageUserVariant(user: .uid(1000), platform: "linux/amd64"), ImageUserVariant(user: .uid(1000), platform: "linux/arm64")])
        #expect(Self.evaluate(Self.spec(container: SecurityContext(windowsOptions: Self.administrator))) { _ in linuxOnly }.entries.isEmpty)
    }

    @Test func thePlatformOSIsComparedCaseInsensitively() {
        let result = Self.evaluate(Self.spec(container: SecurityContext(runAsUser: 0))) { _ in .found([ImageUserVariant(user: .name("ContainerAdministrator"), platform: "Windows/amd64")]) }
        #expect(result.findings.map(\.message) == [Self.windowsImageUser])
    }

    @Test func oneContainersImageNarrowsThePod() {
        // "gate" asks for a Linux-only image; "app" never needs its image, yet no Windows node runs the pod.
        let spec = PodSpec(
            containers: [
                Container(name: "gate", image: "registry.example/linux-only:1"),
                Container(name: "app", image: "registry.example/app:1", securityContext: SecurityContext(runAsUser: 1000, windowsOptions: Self.administrator)),
            ],
            securityContext: PodSecurityContext(runAsNonRoot: true))
        let lookup: (String) -> ImageUserLookup = { image in
            image == "registry.example/linux-only:1" ? .found([ImageUserVariant(user: .uid(1000), platform: "linux/amd64")]) : .found(.uid(1000))
        }
        // The Windows rule reads runAsUserName before the image, so "app"'s image is never asked.
        #expect(PolicyEvaluator(policy: .kubelet).imagesNeeded(for: PodUnderReview(subject: Self.subject, spec: spec)) == ["registry.example/linux-only:1"])
        #expect(Self.evaluate(spec, lookup).entries.isEmpty)
        // Without the Linux-only image, the pod may land on Windows and is refused there.
        let either = PodSpec(
            containers: [Container(name: "gate", image: "registry.example/any:1"), spec.containers[1]],
            securityContext: spec.securityContext)
        #expect(Self.evaluate(either, lookup).findings.map(\.message) == [Self.windowsRunAsUserName])
    }

    @Test func imagesThatLeaveNoOSNameTheMissingPlatforms() {
        let spec = PodSpec(
            containers: [Container(name: "win", image: "registry.example/win:1"), Container(name: "lin", image: "registry.example/lin:1")],
            securityContext: PodSecurityContext(runAsNonRoot: true))
        let result = Self.evaluate(spec) { image in
            image == "registry.example/win:1"
                ? .found([ImageUserVariant(user: .name("ContainerUser"), platform: "windows/amd64")])
                : .found([ImageUserVariant(user: .uid(1000), platform: "linux/amd64")])
        }
        #expect(result.findings.isEmpty)
        #expect(result.unresolved.map(\.container) == ["win", "lin"])
        #expect(result.unresolved.map(\.reason) == [
            "the image has no linux platform (it has windows/amd64)",
            "the image has no windows platform (it has linux/amd64)",
        ])
    }

    // An index with platforms past the per-image bound: those platforms are unresolved, the rest judged.

    static let bound = "the image index lists 3 platforms to evaluate, more than the 2 evaluated per image; not evaluated: windows/amd64"

    static func partly(_ linux: ImageUser, unevaluated: String = "windows/amd64") -> ImageUserLookup {
        .partlyFound([ImageUserVariant(user: linux, platform: "linux/amd64"), ImageUserVariant(user: linux, platform: "linux/arm64")],
                     unevaluated: [unevaluated], reason: bound)
    }

    @Test func unevaluatedPlatformsOfAnotherOSDoNotHideTheVerdict() {
        let linux = Self.spec(os: "linux")
        #expect(Self.evaluate(linux) { _ in Self.partly(.uid(1000)) }.entries.isEmpty)
        #expect(Self.evaluate(linux) { _ in Self.partly(.unset) }.findings.map(\.message) == [Self.linuxWillRunAsRoot])
    }

    @Test func unevaluatedPlatformsOfThePodsOSAreUnresolvedUnlessAKnownOneIsDenied() {
        let windows = Self.spec(nodeSelector: Self.onWindowsNodes)
        #expect(Self.evaluate(windows) { _ in Self.partly(.uid(1000)) }.unresolved
            == [UnresolvedImage(container: "app", image: "registry.example/app:1", reason: Self.bound, subject: Self.subject)])
        let linux = Self.spec(os: "linux")
        #expect(Self.evaluate(linux) { _ in Self.partly(.uid(1000), unevaluated: "linux/s390x") }.unresolved.map(\.reason) == [Self.bound])
        // A known root platform is certain: the denial is reported, not the unknown one.
        let denied = Self.evaluate(linux) { _ in Self.partly(.unset, unevaluated: "linux/s390x") }
        #expect(denied.findings.map(\.message) == [Self.linuxWillRunAsRoot])
        #expect(denied.unresolved.isEmpty)
    }

    @Test func unevaluatedPlatformsStillNarrowTheOSes() {
        // Known linux platforms and an unevaluated windows one: a pod with no hints may land on either.
        let result = Self.evaluate(Self.spec()) { _ in Self.partly(.uid(1000)) }
        #expect(result.unresolved.map(\.reason) == [Self.bound])
        // Only linux platforms, known or not: no Windows node runs it, so runAsUserName is not read.
        let linuxOnly = Self.evaluate(Self.spec(container: SecurityContext(windowsOptions: Self.administrator))) { _ in
            Self.partly(.uid(1000), unevaluated: "linux/s390x")
        }
        #expect(linuxOnly.findings.isEmpty)
        #expect(linuxOnly.unresolved.map(\.reason) == [Self.bound])
    }

    @Test func anImageForAnotherOSIsRunnableOnNone() {
        let result = Self.evaluate(Self.spec(os: "linux")) { _ in .found([ImageUserVariant(user: .uid(1000), platform: "darwin/arm64")]) }
        #expect(result.unresolved.map(\.reason) == ["the image has no linux platform (it has darwin/arm64)"])
    }

    // No OS left: nothing runs.

    @Test func hintsThatLeaveNoOSAllowAndSaySo() {
        var asked = false
        let spec = Self.spec(container: SecurityContext(runAsUser: 0), nodeSelector: ["kubernetes.io/os": "darwin"])
        let pod = PodUnderReview(subject: Self.subject, spec: spec)
        let result = PolicyEvaluator(policy: .kubelet).evaluate(pod) { _ in
            asked = true
            return .found(.unset)
        }
        #expect(!asked)
        #expect(result.entries.isEmpty)
        #expect(result.noNodeOS?.warning == #"pod "web": no node OS satisfies nodeSelector kubernetes.io/os="darwin", so no kubelet will start its containers; they were not checked"#)
        #expect(PolicyEvaluator(policy: .kubelet).imagesNeeded(for: pod).isEmpty)

        let conflicting = Self.spec(os: "linux", nodeSelector: ["kubernetes.io/os": "windows"],
                                    affinity: NodeSelector(nodeSelectorTerms: [NodeSelectorTerm(matchExpressions: [NodeSelectorRequirement(key: NodeOS.label, operator: "Exists")])]))
        let none = PolicyEvaluator(policy: .kubelet).evaluate(PodUnderReview(subject: Self.subject, spec: conflicting)) { _ in .found(.unset) }
        #expect(none.noNodeOS?.warning == #"pod "web": no node OS satisfies spec.os.name="linux" and nodeSelector kubernetes.io/os="windows" and required node affinity, so no kubelet will start its containers; they were not checked"#)
        #expect(Self.evaluate(Self.spec(), user: .unset).noNodeOS == nil)
    }

    // The restricted policy: the image check follows the node OS, Pod Security follows spec alone.

    @Test func restrictedImageCheckFollowsTheNodeOS() {
        // No runAsNonRoot: the restricted image check applies the kubelet's image rules per OS.
        let onWindows = Self.spec(pod: nil, nodeSelector: Self.onWindowsNodes)
        let result = Self.evaluate(onWindows, policy: .restricted, user: .unset)
        // An image without a user passes on Windows: only Pod Security's own finding remains.
        #expect(result.findings.map(\.message) == [#"violates PodSecurity "restricted:latest": runAsNonRoot != true (pod or container "app" must set securityContext.runAsNonRoot=true)"#])
        let either = Self.evaluate(Self.spec(pod: nil), policy: .restricted, user: .name("ContainerAdministrator"))
        #expect(either.findings.map(\.check) == ["imageUser", "imageUser", "podSecurity"])
        #expect(either.findings.map(\.message).prefix(2) == [Self.linuxNonNumeric, Self.windowsImageUser])
    }

    @Test func podSecurityChecksIgnoreTheNodeOS() {
        // The Windows kubelet ignores runAsUser 0, Pod Security does not.
        let result = Self.evaluate(Self.spec(container: SecurityContext(runAsUser: 0), nodeSelector: Self.onWindowsNodes), policy: .restricted, user: .unset)
        #expect(result.findings.map(\.message) == [#"violates PodSecurity "restricted:latest": runAsUser=0 (container "app" must not set runAsUser=0)"#])
        // Even when no node OS is left, Pod Security still answers.
        let nowhere = Self.evaluate(Self.spec(container: SecurityContext(runAsUser: 0), nodeSelector: ["kubernetes.io/os": "plan9"]), policy: .restricted, user: .unset)
        #expect(nowhere.findings.map(\.check) == ["podSecurity"])
        #expect(nowhere.noNodeOS != nil)
    }
}

/// UPDATE of a workload template: what decides the node OS selects every container.
struct NodeOSSelectionTests {
    static func spec(_ nodeSelector: [String: String] = [:], _ affinity: NodeSelector? = nil) -> PodSpec {
        PodSpec(containers: [Container(name: "a", image: "a:1"), Container(name: "b", image: "b:1")], nodeSelector: nodeSelector, requiredNodeAffinity: affinity)
    }

    @Test func nodeSelectorAndRequiredAffinitySelectEverything() {
        let windows = NodeSelector(nodeSelectorTerms: [NodeSelectorTerm(matchExpressions: [NodeSelectorRequirement(key: NodeOS.label, operator: "In", values: ["windows"])])])
        let linux = NodeSelector(nodeSelectorTerms: [NodeSelectorTerm(matchExpressions: [NodeSelectorRequirement(key: NodeOS.label, operator: "In", values: ["linux"])])])
        #expect(ContainerSelection.changed(from: Self.spec(), to: Self.spec()).isEmpty)
        #expect(ContainerSelection.changed(from: Self.spec(), to: Self.spec(["kubernetes.io/os": "windows"])) == .all)
        #expect(ContainerSelection.changed(from: Self.spec(["kubernetes.io/os": "linux"]), to: Self.spec(["kubernetes.io/os": "windows"])) == .all)
        #expect(ContainerSelection.changed(from: Self.spec(), to: Self.spec([:], windows)) == .all)
        #expect(ContainerSelection.changed(from: Self.spec([:], linux), to: Self.spec([:], windows)) == .all)
        #expect(ContainerSelection.changed(from: Self.spec([:], windows), to: Self.spec([:], windows)).isEmpty)
    }
}

/// `ImageUserVariant.runs(on:)` compares an ASCII platform's OS byte by byte; it must agree with the
/// general path, which lower-cases the part before the first "/" as a String.
struct PlatformOSMatchTests {
    static func reference(_ platform: String, _ os: NodeOS) -> Bool {
        platform.prefix { $0 != "/" }.lowercased() == os.rawValue
    }

    @Test("exact answers for the platforms registries write, in any case")
    func knownPlatforms() {
        let cases: [(String, NodeOS, Bool)] = [
            ("linux/amd64", .linux, true), ("LINUX/arm64/v8", .linux, true), ("Windows/amd64", .windows, true),
            ("linux", .linux, true), ("windows/amd64", .linux, false), ("linuxx/amd64", .linux, false),
            ("linu/amd64", .linux, false), ("", .linux, false), ("/linux", .linux, false), ("lInUx/", .linux, true),
            ("l\u{130}nux/amd64", .linux, false), ("linux\u{301}/amd64", .linux, false),
        ]
        for (platform, os, expected) in cases {
            #expect(ImageUserVariant(user: .unset, platform: platform).runs(on: os) == expected, "\(platform) on \(os)")
            #expect(Self.reference(platform, os) == expected, "reference: \(platform) on \(os)")
        }
        #expect(ImageUserVariant(user: .unset).runs(on: .windows))
    }

    @Test("agrees with the String path on 20,000 random platforms near the OS names")
    func differential() {
        var generator = SystemRandomNumberGenerator()
        let noise: [String] = ["/", "@", "[", "`", "{", "\u{0}", "\u{7F}", "\u{130}", "\u{212A}", "\u{301}", "é", "\r\n", "x", "S"]
        var matches = 0
        for _ in 0..<20_000 {
            // An OS name in random case, sometimes with a character changed, then a tail.
            var characters = (Bool.random(using: &generator) ? "linux" : "windows").map { character in
                Bool.random(using: &generator) ? character.uppercased() : String(character)
            }
            if Int.random(in: 0..<4, using: &generator) == 0, let index = characters.indices.randomElement(using: &generator) {
                characters[index] = noise.randomElement(using: &generator) ?? ""
            }
            let tail = (0..<Int.random(in: 0...3, using: &generator)).map { _ in noise.randomElement(using: &generator) ?? "" }
            let platform = (characters + tail).joined()
            for os in NodeOS.allCases {
                let expected = Self.reference(platform, os)
                if expected { matches += 1 }
                #expect(ImageUserVariant(user: .unset, platform: platform).runs(on: os) == expected, "\(platform.unicodeScalars.map(\.value)) on \(os)")
            }
        }
        // The generator must reach both answers, or the comparison proves little.
        #expect(matches > 2_000)
    }
}
