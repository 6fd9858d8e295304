public import ImageConfig

/*
 The kubelet's verifyRunAsNonRoot on Linux (pkg/kubelet/kuberuntime/security_context_others.go),
 for containers that may land on a Linux node (NodeOS.swift).

 Restricted fields: securityContext.runAsNonRoot, securityContext.runAsUser (pod and container), the image's USER.
 Denied when the effective runAsNonRoot is true and:
 - the effective runAsUser is 0;
 - or runAsUser is unset and the image has no USER, USER 0, a non-numeric USER, or a uid outside 0...2147483647.
*/

extension ContainerCheck {
    public static let verifyRunAsNonRootLinux = ContainerCheck(
        id: "verifyRunAsNonRoot", policies: [.kubelet, .restricted]
    ) { container, pod, os, images in
        guard os == .linux, container.effective.runAsNonRoot == true else { return .allowed }
        if let runAsUser = container.effective.runAsUser {
            guard runAsUser == 0 else { return .allowed }
            let name = container.container.name
            return .denied(Finding(
                check: "verifyRunAsNonRoot", container: name,
                message: "container's runAsUser breaks non-root policy \(pod.subject.suffix(container: name))",
                hint: "\(Hint.container(name)) sets runAsUser=0 with runAsNonRoot=true; set securityContext.runAsUser to a non-zero UID"))
        }
        return LinuxImageUserRule.verdict(for: container, in: pod, images: images, check: "verifyRunAsNonRoot")
    }
}

/// The image branch of the Linux rule, shared with the restricted image check.
enum LinuxImageUserRule {
    static let maximumUserID: Int64 = 2_147_483_647

    static func verdict(for container: ContainerUnderReview, in pod: PodUnderReview, images: ImageUserAnswers, check: String) -> ContainerVerdict {
        let image = container.container.image
        let name = container.container.name
        switch images(image).variants(on: .linux) {
        case .failure(let reason):
            return .unresolved(UnresolvedImage(container: name, image: image, reason: reason.text, subject: pod.subject))
        case .success(let (variants, unknown)):
            // The pod is judged by its worst platform: the first variant that is denied, then any not known.
            // By index: a refusal is decided on the variant's user alone, without copying its platform.
            for index in variants.indices {
                let (uid, username) = KubeletImageUser.getImageUser(variants[index].user)
                guard let refusal = KubeletImageUser.refusal(uid: uid, username: username) else { continue }
                return .denied(finding(refusal, for: variants[index], image: image, container: name, subject: pod.subject, check: check))
            }
            if let unknown { return .unresolved(UnresolvedImage(container: name, image: image, reason: unknown, subject: pod.subject)) }
            return .allowed
        }
    }

    static func finding(_ refusal: LinuxImageRefusal, for variant: ImageUserVariant, image: String, container: String, subject: Subject, check: String) -> Finding {
        let message = refusal.message(suffix: subject.suffix(container: container))
        let described = Hint.image(image, platform: variant.platform)
        let hint: String
        switch variant.user {
        case .name(let name):
            hint = "\(Hint.container(container)): \(described) has USER \(name), a name the kubelet cannot verify; set a numeric USER (e.g. 65532) or securityContext.runAsUser"
        case .unset:
            hint = "\(Hint.container(container)): \(described) has no USER, so it runs as root; set a numeric non-root USER (e.g. 65532) in its Dockerfile or set securityContext.runAsUser"
        case .uid(let value) where value == 0:
            hint = "\(Hint.container(container)): \(described) runs as root (USER 0); set a numeric non-root USER (e.g. 65532) in its Dockerfile or set securityContext.runAsUser"
        case .uid(let value):
            hint = "\(Hint.container(container)): \(described) has USER \(value), outside 1-\(maximumUserID); set a valid numeric USER or securityContext.runAsUser"
        }
        return Finding(check: check, container: container, message: message, hint: hint)
    }
}

/// The kubelet's image-user functions, transcribed one to one so they can be tested against its own table.
public enum KubeletImageUser {
    /// `getImageUser`: CRI's uid or username; when the runtime reports neither, uid 0 (root).
    public static func getImageUser(_ user: ImageUser) -> (uid: Int64?, username: String) {
        switch user {
        case .unset: (0, "")
        case .uid(let uid): (uid, "")
        case .name(let name): (nil, name)
        }
    }

    /// The image branch of Linux `verifyRunAsNonRoot` (reached when runAsNonRoot is true and
    /// runAsUser is unset): the error message, or nil when allowed. `suffix` is `(pod: %q, container: %s)`.
    public static func verifyLinuxImage(uid: Int64?, username: String, suffix: @autoclosure () -> String) -> String? {
        refusal(uid: uid, username: username)?.message(suffix: suffix())
    }

    /// Why the image branch refuses, or nil when it allows. Apart from the message so that an
    /// allowed image costs no capture of the names the message would print.
    static func refusal(uid: Int64?, username: String) -> LinuxImageRefusal? {
        switch (uid, username.isEmpty) {
        case (nil, false):
            return .nonNumeric(username)
        case (let uid?, _):
            if uid == 0 { return .root }
            // validation.IsValidUserID: 0 <= uid <= math.MaxInt32.
            if uid < 0 || uid > LinuxImageUserRule.maximumUserID { return .invalid(uid) }
            return nil
        default:
            return nil
        }
    }
}

/// A refusal of the Linux image branch, which the kubelet words as `message(suffix:)` does.
enum LinuxImageRefusal {
    case nonNumeric(String)
    case root
    case invalid(Int64)

    func message(suffix: String) -> String {
        switch self {
        case .nonNumeric(let username):
            return "container has runAsNonRoot and image has non-numeric user (\(username)), cannot verify user is non-root \(suffix)"
        case .root:
            return "container has runAsNonRoot and image will run as root \(suffix)"
        case .invalid(let uid):
            let max = LinuxImageUserRule.maximumUserID
            return "container has runAsNonRoot and image has an invalid user id (\(uid)). (Must be 1-(\(max))): must be between 0 and \(max), inclusive \(suffix)"
        }
    }
}
