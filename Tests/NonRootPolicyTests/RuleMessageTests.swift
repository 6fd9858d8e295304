import AdmissionModel
import ImageConfig
@testable import NonRootPolicy
import Testing
import TestSupport

/// Every message, byte for byte, against the kubelet's and Pod Security's format strings.
struct RuleMessageTests {
    let subject = Subject.pod(name: "web", namespace: "shop", uid: "0b5f1c9e-1d2a-4c55-9a43-5c6f0a3e2d11")
    let suffix = #"(pod: "web_shop(0b5f1c9e-1d2a-4c55-9a43-5c6f0a3e2d11)", container: app)"#

    func evaluate(_ policy: PolicyName = .kubelet, pod: PodSecurityContext? = PodSecurityContext(runAsNonRoot: true), container: SecurityContext? = nil, os: String? = nil, user: ImageUser?) -> Evaluation {
        let spec = PodSpec(containers: [Container(name: "app", image: "ghcr.io/acme/app:1", securityContext: container)], securityContext: pod, os: os.map(PodOS.init))
        return PolicyEvaluator(policy: policy).evaluate(PodUnderReview(subject: subject, spec: spec)) { _ in
            user.map { .found($0) } ?? .unresolved(reason: "not in the image catalog")
        }
    }

    @Test func runAsUserZero() {
        let result = evaluate(container: SecurityContext(runAsUser: 0), user: .uid(1000))
        #expect(result.findings.map(\.message) == ["container's runAsUser breaks non-root policy " + suffix])
        #expect(result.findings.map(\.hint) == [#"container "app" sets runAsUser=0 with runAsNonRoot=true; set securityContext.runAsUser to a non-zero UID"#])
    }

    @Test func nonZeroRunAsUserBypassesTheImage() {
        #expect(evaluate(container: SecurityContext(runAsUser: 1000), user: .unset).findings.isEmpty)
        #expect(evaluate(container: SecurityContext(runAsUser: -5), user: .name("root")).findings.isEmpty)
    }

    @Test func imageWithoutUserRunsAsRoot() {
        let result = evaluate(user: .unset)
        #expect(result.findings.map(\.message) == ["container has runAsNonRoot and image will run as root " + suffix])
        #expect(result.findings.map(\.hint) == [#"container "app": image ghcr.io/acme/app:1 has no USER, so it runs as root; set a numeric non-root USER (e.g. 65532) in its Dockerfile or set securityContext.runAsUser"#])
    }

    @Test func imageUserZero() {
        let result = evaluate(user: ImageUser(configUser: "0:0"))
        #expect(result.findings.map(\.message) == ["container has runAsNonRoot and image will run as root " + suffix])
        #expect(result.findings.first?.hint.contains("runs as root (USER 0)") == true)
    }

    @Test func nonNumericUser() {
        #expect(evaluate(user: ImageUser(configUser: "root")).findings.map(\.message)
            == ["container has runAsNonRoot and image has non-numeric user (root), cannot verify user is non-root " + suffix])
        #expect(evaluate(user: ImageUser(configUser: "app:app")).findings.map(\.message)
            == ["container has runAsNonRoot and image has non-numeric user (app), cannot verify user is non-root " + suffix])
    }

    @Test func invalidUserID() {
        #expect(evaluate(user: .uid(4_294_967_296)).findings.map(\.message)
            == ["container has runAsNonRoot and image has an invalid user id (4294967296). (Must be 1-(2147483647)): must be between 0 and 2147483647, inclusive " + suffix])
        #expect(evaluate(user: .uid(-1)).findings.map(\.message)
            == ["container has runAsNonRoot and image has an invalid user id (-1). (Must be 1-(2147483647)): must be between 0 and 2147483647, inclusive " + suffix])
        #expect(evaluate(user: .uid(2_147_483_647)).findings.isEmpty)
        #expect(evaluate(user: .uid(1)).findings.isEmpty)
    }

    @Test func runAsNonRootUnsetOrFalseIsAllowedByTheKubelet() {
        #expect(evaluate(pod: nil, user: .unset).findings.isEmpty)
        #expect(evaluate(pod: PodSecurityContext(runAsNonRoot: true), container: SecurityContext(runAsNonRoot: false), user: .unset).findings.isEmpty)
    }

    @Test func podRunAsUserZeroOverriddenByContainer() {
        #expect(evaluate(pod: PodSecurityContext(runAsUser: 0, runAsNonRoot: true), container: SecurityContext(runAsUser: 1000), user: .unset).findings.isEmpty)
    }

    @Test func windowsRunAsUserName() {
        let result = evaluate(container: SecurityContext(windowsOptions: WindowsSecurityContextOptions(runAsUserName: "containeradministrator")), os: "windows", user: .name("ContainerUser"))
        #expect(result.findings.map(\.message) == ["container's runAsUserName (containeradministrator) which will be regarded as root identity and will break non-root policy " + suffix])
    }

    @Test func windowsImageUser() {
        let result = evaluate(os: "windows", user: .name("ContainerAdministrator"))
        #expect(result.findings.map(\.message) == ["container's runAsUser (ContainerAdministrator) which will be regarded as root identity and will break non-root policy " + suffix])
        // runAsUser is only logged on Windows, and an image without a user passes (kubernetes#112469).
        #expect(evaluate(container: SecurityContext(runAsUser: 0), os: "windows", user: .unset).findings.isEmpty)
        #expect(evaluate(os: "windows", user: .uid(0)).findings.isEmpty)
    }

    @Test func windowsEqualFoldIncludesGoSimpleFolds() {
        #expect(WindowsUserRule.equalFoldRoot("CONTAINERADMINISTRATOR"))
        #expect(WindowsUserRule.equalFoldRoot("ContainerAdmini\u{017F}trator"))
        #expect(!WindowsUserRule.equalFoldRoot("ContainerAdministrators"))
        #expect(!WindowsUserRule.equalFoldRoot("ContainerAdmin"))
        #expect(!WindowsUserRule.equalFoldRoot(""))
    }

    @Test func unresolvedImageIsReportedNotDenied() {
        let result = evaluate(user: nil)
        #expect(result.findings.isEmpty)
        #expect(result.unresolved == [UnresolvedImage(container: "app", image: "ghcr.io/acme/app:1", reason: "not in the image catalog", subject: subject)])
        #expect(result.unresolved.first?.message == #"container has runAsNonRoot and the USER of image "ghcr.io/acme/app:1" cannot be determined (not in the image catalog) "# + suffix)
    }

    /// An index can list Linux and Windows images: a pod is judged only by those its nodes could run.
    @Test func onlyVariantsOfThePodsOSCount() {
        func evaluate(os: String?, _ variants: [ImageUserVariant]) -> Evaluation {
            let spec = PodSpec(containers: [Container(name: "app", image: "ghcr.io/acme/app:1")], securityContext: PodSecurityContext(runAsNonRoot: true), os: os.map(PodOS.init))
            return PolicyEvaluator(policy: .kubelet).evaluate(PodUnderReview(subject: subject, spec: spec)) { _ in .found(variants) }
        }
        let mixed = [
            ImageUserVariant(user: .uid(1000), platform: "linux/amd64"),
            ImageUserVariant(user: .name("ContainerAdministrator"), platform: "windows/amd64"),
        ]
        #expect(evaluate(os: "linux", mixed).entries.isEmpty)
        #expect(evaluate(os: "windows", mixed).findings.map(\.message) == [
            "container's runAsUser (ContainerAdministrator) which will be regarded as root identity and will break non-root policy " + suffix,
        ])
        // Without hints the pod may land on either OS, and a Windows node refuses it.
        #expect(evaluate(os: nil, mixed).findings.map(\.message) == [
            "container's runAsUser (ContainerAdministrator) which will be regarded as root identity and will break non-root policy " + suffix,
        ])
        let windowsOnly = [ImageUserVariant(user: .name("ContainerUser"), platform: "windows/amd64")]
        #expect(evaluate(os: "windows", windowsOnly).entries.isEmpty)
        #expect(evaluate(os: nil, windowsOnly).entries.isEmpty)
        #expect(evaluate(os: "linux", windowsOnly).unresolved.map(\.reason) == ["the image has no linux platform (it has windows/amd64)"])
        let linuxOnly = [ImageUserVariant(user: .uid(0), platform: "linux/amd64"), ImageUserVariant(user: .uid(1000), platform: "linux/arm64/v8")]
        #expect(evaluate(os: "windows", linuxOnly).unresolved.map(\.reason) == ["the image has no windows platform (it has linux/amd64, linux/arm64/v8)"])
        // A catalog entry names no platform: it applies to every OS.
        #expect(evaluate(os: "windows", [ImageUserVariant(user: .name("ContainerUser"))]).entries.isEmpty)
    }

    @Test func platformNamedInTheHintNotTheMessage() {
        let spec = PodSpec(containers: [Container(name: "app", image: "ghcr.io/acme/app:1")], securityContext: PodSecurityContext(runAsNonRoot: true))
        let result = PolicyEvaluator(policy: .kubelet).evaluate(PodUnderReview(subject: subject, spec: spec)) { _ in
            .found([ImageUserVariant(user: .uid(1000), platform: "linux/amd64"), ImageUserVariant(user: .unset, platform: "linux/arm64")])
        }
        #expect(result.findings.map(\.message) == ["container has runAsNonRoot and image will run as root " + suffix])
        #expect(result.findings.first?.hint.hasPrefix(#"container "app": image ghcr.io/acme/app:1 (linux/arm64) has no USER"#) == true)
    }

    @Test func workloadSuffixNamesKindNamespaceAndName() {
        let spec = PodSpec(containers: [Container(name: "app", image: "nginx")], securityContext: PodSecurityContext(runAsNonRoot: true))
        let pod = PodUnderReview(subject: .template(kind: .cronJob, namespace: "batch-jobs", name: "nightly"), spec: spec)
        let result = PolicyEvaluator(policy: .kubelet).evaluate(pod) { _ in .found(.unset) }
        #expect(result.findings.map(\.message) == [#"container has runAsNonRoot and image will run as root (cronjob: "batch-jobs/nightly", container: app)"#])
    }

    @Test func findingsFollowPodOrder() {
        let spec = PodSpec(
            initContainers: [Container(name: "init", image: "i")],
            containers: [Container(name: "a", image: "a"), Container(name: "b", image: "b")],
            ephemeralContainers: [Container(name: "debug", image: "d")],
            securityContext: PodSecurityContext(runAsNonRoot: true))
        let pod = PodUnderReview(subject: .pod(name: "p", namespace: "n", uid: "u"), spec: spec)
        let result = PolicyEvaluator(policy: .kubelet).evaluate(pod) { image in image == "a" ? .found(.uid(10)) : .found(.unset) }
        #expect(result.findings.map(\.container) == ["init", "b", "debug"])
    }
}

struct GoQuoteTests {
    @Test(arguments: [
        ("web_shop(uid)", #""web_shop(uid)""#),
        (#"a"b\c"#, #""a\"b\\c""#),
        ("tab\there\n", #""tab\there\n""#),
        ("\u{1}\u{7f}", #""\x01\x7f""#),
        ("é✓😀", "\"é✓😀\""),
        ("\u{200B}", #""\u200b""#),
        ("\u{E000}", #""\ue000""#),
        ("\u{F0000}", #""\U000f0000""#),
    ])
    func quotesLikeGo(_ input: String, _ expected: String) {
        #expect(goQuote(input) == expected)
    }

    /// The fast paths (printable ASCII copied whole, escapes written as bytes) against the scalar-by-scalar
    /// transcription of `strconv.Quote` they replaced, on strings mixing every class the quoting treats apart.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func agreesWithTheScalarTranscription(seed: UInt64) {
        let pieces: [String] = [
            "a", "Z", "0", " ", "~", "-", "_", "(", "\"", "\\", "\u{7}", "\u{8}", "\u{C}", "\n", "\r", "\t", "\u{B}", "\u{0}", "\u{1F}",
            "\u{7F}", "\u{80}", "\u{A0}", "é", "e\u{301}", "✓", "\u{200B}", "\u{2028}", "\u{E000}", "\u{FEFF}", "😀", "\u{F0000}", "\u{10FFFF}", "\u{212A}",
        ]
        var generator = SplitMix64(seed: seed)
        var disagreements: [String] = []
        for _ in 0..<2_000 {
            let length = Int(generator.next() % 24)
            let text = (0..<length).map { _ in pieces[Int(generator.next() % UInt64(pieces.count))] }.joined()
            if goQuote(text) != scalarGoQuote(text) { disagreements.append(text.debugDescription) }
        }
        #expect(disagreements == [])
    }
}

/// `goQuote` as it was written before its fast paths: Go's rules applied one scalar at a time.
private func scalarGoQuote(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\u{07}": out += "\\a"
        case "\u{08}": out += "\\b"
        case "\u{0C}": out += "\\f"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case "\u{0B}": out += "\\v"
        default:
            let category = scalar.properties.generalCategory
            let printable = ![.control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator, .spaceSeparator].contains(category)
            func hex(_ width: Int) -> String {
                let digits = String(scalar.value, radix: 16)
                return String(repeating: "0", count: max(0, width - digits.count)) + digits
            }
            if scalar.value < 0x20 || scalar.value == 0x7F {
                out += "\\x" + hex(2)
            } else if scalar.value < 0x80 || printable {
                out.unicodeScalars.append(scalar)
            } else if scalar.value < 0x10000 {
                out += "\\u" + hex(4)
            } else {
                out += "\\U" + hex(8)
            }
        }
    }
    return out + "\""
}

struct HintTests {
    @Test func warningsAreOneLineAndAtMost256Runes() {
        let long = String(repeating: "é", count: 300)
        let warning = Hint.warning("a\nb\t" + long)
        #expect(warning.unicodeScalars.count == 256)
        #expect(warning.hasPrefix("a b "))
        #expect(warning.hasSuffix("…"))
        #expect(!warning.unicodeScalars.contains { $0.properties.generalCategory == .control })
        let exact = String(repeating: "x", count: 256)
        #expect(Hint.warning(exact) == exact)
    }
}
