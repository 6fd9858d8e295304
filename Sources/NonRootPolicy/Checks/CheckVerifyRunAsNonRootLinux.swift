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
            for variant in variants {
                if let finding = finding(for: variant, image: image, container: name, subject: pod.subject, check: check) {
                    return .denied(finding)
                }
            }
            if let unknown { return .unresolved(UnresolvedImage(container: name, image: image, reason: unknown, subject: pod.subject)) }
            return .allowed
        }
    }

    static func finding(for variant: ImageUserVariant, image: String, container: String, subject: Subject, check: String) -> Finding? {
        let (uid, username) = KubeletImageUser.getImageUser(variant.user)
        guard let message = KubeletImageUser.verifyLinuxImage(uid: uid, username: username, suffix: subject.suffix(container: container)) else {
            return nil
        }
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
        switch (uid, username.isEmpty) {
        case (nil, false):
            return "container has runAsNonRoot and image has non-numeric user (\(username)), cannot verify user is non-root \(suffix())"
        case (let uid?, _):
            if uid == 0 {
                return "container has runAsNonRoot and image will run as root \(suffix())"
            }
            // validation.IsValidUserID: 0 <= uid <= math.MaxInt32.
            if uid < 0 || uid > LinuxImageUserRule.maximumUserID {
                let max = LinuxImageUserRule.maximumUserID
                return "container has runAsNonRoot and image has an invalid user id (\(uid)). (Must be 1-(\(max))): must be between 0 and \(max), inclusive \(suffix())"
            }
            return nil
        default:
            return nil
        }
    }
}
