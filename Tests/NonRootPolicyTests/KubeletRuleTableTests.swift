import AdmissionModel
import ImageConfig
import NonRootPolicy
import Testing

/// The project's own table of the kubelet's `verifyRunAsNonRoot` rules, written from the kubelet's
/// behaviour (k8s-semantics.md §1.2 Linux, §1.4 Windows, §1.5 pod/container merge, §1.6–1.7 image user),
/// so that a clone without `../shared/conformance` still tests parity. Every denial is asserted byte for
/// byte, with the kubelet's ` (pod: %q, container: %s)` suffix written out rather than computed.
struct KubeletRuleTableTests {
    struct Row: Sendable, CustomTestStringConvertible {
        var name: String
        var windows = false
        var pod: PodSecurityContext? = nil
        var container: SecurityContext? = nil
        /// The image config `User` string, as a registry or catalog reports it.
        var imageUser: String
        /// The exact `status.message`, or nil when the kubelet starts the container.
        var message: String?

        var testDescription: String { "\(windows ? "windows" : "linux"): \(name)" }
    }

    /// `format.Pod` of the pod below, quoted by `%q`, and the container name by `%s`.
    static let suffix = #" (pod: "api_prod(7d3e9a52-0c1f-4b8e-a6d2-93f1e0c4b5a7)", container: server)"#
    static let willRunAsRoot = "container has runAsNonRoot and image will run as root" + suffix
    static let runAsUserZero = "container's runAsUser breaks non-root policy" + suffix
    static func nonNumeric(_ user: String) -> String {
        "container has runAsNonRoot and image has non-numeric user (\(user)), cannot verify user is non-root" + suffix
    }
    static func invalidUID(_ uid: String) -> String {
        "container has runAsNonRoot and image has an invalid user id (\(uid)). (Must be 1-(2147483647)): must be between 0 and 2147483647, inclusive" + suffix
    }
    static func windowsImageUser(_ user: String) -> String {
        "container's runAsUser (\(user)) which will be regarded as root identity and will break non-root policy" + suffix
    }
    static func windowsRunAsUserName(_ user: String) -> String {
        "container's runAsUserName (\(user)) which will be regarded as root identity and will break non-root policy" + suffix
    }

    static let nonRoot = SecurityContext(runAsNonRoot: true)

    static let linux: [Row] = [
        // runAsNonRoot nil or false: nothing else is looked at.
        Row(name: "no security context, image without USER", imageUser: "", message: nil),
        Row(name: "runAsNonRoot false, image USER 0", container: SecurityContext(runAsNonRoot: false), imageUser: "0", message: nil),
        Row(name: "runAsNonRoot false, runAsUser 0", container: SecurityContext(runAsUser: 0, runAsNonRoot: false), imageUser: "0", message: nil),
        Row(name: "runAsNonRoot nil, runAsUser 0", container: SecurityContext(runAsUser: 0), imageUser: "", message: nil),
        // runAsUser set: decides alone, the image is never consulted.
        Row(name: "runAsUser 0 with a non-root image", container: SecurityContext(runAsUser: 0, runAsNonRoot: true), imageUser: "1000", message: runAsUserZero),
        Row(name: "runAsUser 1000 with an image without USER", container: SecurityContext(runAsUser: 1000, runAsNonRoot: true), imageUser: "", message: nil),
        Row(name: "runAsUser 1000 with a non-numeric image USER", container: SecurityContext(runAsUser: 1000, runAsNonRoot: true), imageUser: "root", message: nil),
        // runAsUser nil: the image's USER, as containerd/CRI-O report it and getImageUser reads it.
        Row(name: "image without USER runs as root", container: nonRoot, imageUser: "", message: willRunAsRoot),
        Row(name: "image USER 0", container: nonRoot, imageUser: "0", message: willRunAsRoot),
        Row(name: "image USER 0:1000 (uid before the colon)", container: nonRoot, imageUser: "0:1000", message: willRunAsRoot),
        Row(name: "image USER :1000 (empty uid falls back to root)", container: nonRoot, imageUser: ":1000", message: willRunAsRoot),
        Row(name: "image USER root is non-numeric", container: nonRoot, imageUser: "root", message: nonNumeric("root")),
        Row(name: "image USER app:app is non-numeric", container: nonRoot, imageUser: "app:app", message: nonNumeric("app")),
        Row(name: "image USER with a leading space is non-numeric", container: nonRoot, imageUser: " 1000", message: nonNumeric(" 1000")),
        Row(name: "image USER 1000", container: nonRoot, imageUser: "1000", message: nil),
        Row(name: "image USER 1000:1000", container: nonRoot, imageUser: "1000:1000", message: nil),
        Row(name: "image USER +1000 (ParseInt takes a sign)", container: nonRoot, imageUser: "+1000", message: nil),
        Row(name: "image USER 2147483647 (the largest valid uid)", container: nonRoot, imageUser: "2147483647", message: nil),
        Row(name: "image USER 2147483648 is an invalid uid", container: nonRoot, imageUser: "2147483648", message: invalidUID("2147483648")),
        Row(name: "image USER -1 is an invalid uid", container: nonRoot, imageUser: "-1", message: invalidUID("-1")),
        // Pod and container security contexts merge field by field, the container's non-nil fields winning.
        Row(name: "pod runAsNonRoot, no container context", pod: PodSecurityContext(runAsNonRoot: true), imageUser: "", message: willRunAsRoot),
        Row(name: "pod runAsNonRoot, container runAsNonRoot false", pod: PodSecurityContext(runAsNonRoot: true), container: SecurityContext(runAsNonRoot: false), imageUser: "", message: nil),
        Row(name: "pod runAsNonRoot false, container runAsNonRoot true", pod: PodSecurityContext(runAsNonRoot: false), container: nonRoot, imageUser: "root", message: nonNumeric("root")),
        Row(name: "pod runAsUser 0 and runAsNonRoot", pod: PodSecurityContext(runAsUser: 0, runAsNonRoot: true), imageUser: "1000", message: runAsUserZero),
        Row(name: "pod runAsUser 0, container runAsUser 1000", pod: PodSecurityContext(runAsUser: 0, runAsNonRoot: true), container: SecurityContext(runAsUser: 1000), imageUser: "", message: nil),
        Row(name: "pod runAsUser 1000, container runAsUser 0", pod: PodSecurityContext(runAsUser: 1000, runAsNonRoot: true), container: SecurityContext(runAsUser: 0), imageUser: "1000", message: runAsUserZero),
        Row(name: "pod runAsUser 1000 kept when the container sets only runAsGroup", pod: PodSecurityContext(runAsUser: 1000, runAsNonRoot: true), container: SecurityContext(runAsGroup: 0), imageUser: "", message: nil),
    ]

    static func windowsOptions(_ user: String) -> WindowsSecurityContextOptions { WindowsSecurityContextOptions(runAsUserName: user) }

    static let windows: [Row] = [
        Row(name: "no security context, image ContainerAdministrator", windows: true, imageUser: "ContainerAdministrator", message: nil),
        Row(name: "runAsNonRoot false with runAsUserName ContainerAdministrator", windows: true,
            container: SecurityContext(runAsNonRoot: false, windowsOptions: windowsOptions("ContainerAdministrator")), imageUser: "ContainerAdministrator", message: nil),
        Row(name: "image user ContainerAdministrator", windows: true, container: nonRoot, imageUser: "ContainerAdministrator", message: windowsImageUser("ContainerAdministrator")),
        Row(name: "image user compared case-insensitively", windows: true, container: nonRoot, imageUser: "containeradministrator", message: windowsImageUser("containeradministrator")),
        Row(name: "image user ContainerUser", windows: true, container: nonRoot, imageUser: "ContainerUser", message: nil),
        Row(name: "image without user is allowed (kubernetes#112469)", windows: true, container: nonRoot, imageUser: "", message: nil),
        Row(name: "numeric image user is ignored", windows: true, container: nonRoot, imageUser: "0", message: nil),
        Row(name: "runAsUser 0 is only logged", windows: true, container: SecurityContext(runAsUser: 0, runAsGroup: 0, runAsNonRoot: true), imageUser: "", message: nil),
        Row(name: "runAsUserName CONTAINERADMINISTRATOR, a non-root image", windows: true,
            container: SecurityContext(runAsNonRoot: true, windowsOptions: windowsOptions("CONTAINERADMINISTRATOR")), imageUser: "ContainerUser", message: windowsRunAsUserName("CONTAINERADMINISTRATOR")),
        Row(name: "runAsUserName ContainerUser overrides an image ContainerAdministrator", windows: true,
            container: SecurityContext(runAsNonRoot: true, windowsOptions: windowsOptions("ContainerUser")), imageUser: "ContainerAdministrator", message: nil),
        Row(name: "pod runAsUserName ContainerAdministrator reaches the container", windows: true,
            pod: PodSecurityContext(runAsNonRoot: true, windowsOptions: windowsOptions("ContainerAdministrator")), imageUser: "ContainerUser", message: windowsRunAsUserName("ContainerAdministrator")),
        Row(name: "container runAsUserName overrides the pod's", windows: true,
            pod: PodSecurityContext(runAsNonRoot: true, windowsOptions: windowsOptions("ContainerAdministrator")),
            container: SecurityContext(windowsOptions: windowsOptions("ContainerUser")), imageUser: "ContainerAdministrator", message: nil),
    ]

    static let rows = linux + windows

    @Test func tableCoversBothPlatformsAndBothOutcomes() {
        #expect(Self.rows.count >= 25)
        #expect(Self.linux.count >= 20 && Self.windows.count >= 10)
        #expect(Self.rows.contains { $0.message == nil } && Self.rows.contains { $0.message != nil })
    }

    @Test(arguments: rows)
    func row(_ row: Row) {
        let spec = PodSpec(
            containers: [Container(name: "server", image: "registry.example/api:1", securityContext: row.container)],
            securityContext: row.pod, os: row.windows ? PodOS(name: "windows") : nil)
        let pod = PodUnderReview(subject: .pod(name: "api", namespace: "prod", uid: "7d3e9a52-0c1f-4b8e-a6d2-93f1e0c4b5a7"), spec: spec)
        let evaluation = PolicyEvaluator(policy: .kubelet).evaluate(pod) { image in
            #expect(image == "registry.example/api:1")
            return .found(ImageUser(configUser: row.imageUser))
        }
        #expect(evaluation.unresolved.isEmpty)
        #expect(evaluation.findings.map(\.message) == (row.message.map { [$0] } ?? []))
    }

    /// The same rules reach init and ephemeral containers, each named in its own message.
    @Test func everyContainerListIsChecked() {
        let spec = PodSpec(
            initContainers: [Container(name: "setup", image: "root-image")],
            containers: [Container(name: "server", image: "good-image")],
            ephemeralContainers: [Container(name: "debug", image: "named-image")],
            securityContext: PodSecurityContext(runAsNonRoot: true))
        let pod = PodUnderReview(subject: .pod(name: "api", namespace: "prod", uid: "7d3e9a52-0c1f-4b8e-a6d2-93f1e0c4b5a7"), spec: spec)
        let users = ["root-image": "", "good-image": "65532", "named-image": "nobody"]
        let evaluation = PolicyEvaluator(policy: .kubelet).evaluate(pod) { .found(ImageUser(configUser: users[$0] ?? "0")) }
        #expect(evaluation.findings.map(\.message) == [
            #"container has runAsNonRoot and image will run as root (pod: "api_prod(7d3e9a52-0c1f-4b8e-a6d2-93f1e0c4b5a7)", container: setup)"#,
            #"container has runAsNonRoot and image has non-numeric user (nobody), cannot verify user is non-root (pod: "api_prod(7d3e9a52-0c1f-4b8e-a6d2-93f1e0c4b5a7)", container: debug)"#,
        ])
    }

    /// The function-level branch the kubelet never reaches: uid nil and username "" allows, but
    /// getImageUser never produces it (no USER becomes uid 0).
    @Test func unreachableEmptyImageUserBranch() {
        #expect(KubeletImageUser.verifyLinuxImage(uid: nil, username: "", suffix: Self.suffix) == nil)
        #expect(KubeletImageUser.getImageUser(.unset) == (uid: 0, username: ""))
    }
}
