import ImageConfig

/*
 The kubelet's verifyRunAsNonRoot on Windows (pkg/kubelet/kuberuntime/security_context_windows.go),
 for containers that may land on a Windows node (NodeOS.swift), whether or not spec.os is set.

 Restricted fields: securityContext.runAsNonRoot, securityContext.windowsOptions.runAsUserName, the image's USER.
 runAsUser, runAsGroup and seLinuxOptions are ignored (the kubelet only logs them).
 Denied when the effective runAsNonRoot is true and runAsUserName, or failing that the image user,
 is ContainerAdministrator in any case. An image with no USER passes (kubernetes#112469).
*/

extension ContainerCheck {
    public static let verifyRunAsNonRootWindows = ContainerCheck(
        id: "verifyRunAsNonRoot", policies: [.kubelet, .restricted]
    ) { container, pod, os, images in
        guard os == .windows, container.effective.runAsNonRoot == true else { return .allowed }
        return WindowsUserRule.verdict(for: container, in: pod, images: images, check: "verifyRunAsNonRoot")
    }
}

enum WindowsUserRule {
    static let rootUserName = "ContainerAdministrator"

    static func verdict(for container: ContainerUnderReview, in pod: PodUnderReview, images: ImageUserAnswers, check: String) -> ContainerVerdict {
        let name = container.container.name
        if let runAsUserName = container.effective.runAsUserName {
            guard equalFoldRoot(runAsUserName) else { return .allowed }
            return .denied(Finding(
                check: check, container: name,
                message: "container's runAsUserName (\(runAsUserName)) which will be regarded as root identity and will break non-root policy \(pod.subject.suffix(container: name))",
                hint: "\(Hint.container(name)) sets windowsOptions.runAsUserName=\(runAsUserName); use a non-administrator account such as ContainerUser"))
        }
        let image = container.container.image
        switch images(image).variants(on: .windows) {
        case .failure(let reason):
            return .unresolved(UnresolvedImage(container: name, image: image, reason: reason.text, subject: pod.subject))
        case .success(let (variants, unknown)):
            // By index, as the Linux rule: the user alone decides, without copying the platform.
            for index in variants.indices {
                // CRI reports a numeric USER as a uid, which the Windows check never reads.
                guard case .name(let username) = variants[index].user, equalFoldRoot(username) else { continue }
                return .denied(Finding(
                    check: check, container: name,
                    message: "container's runAsUser (\(username)) which will be regarded as root identity and will break non-root policy \(pod.subject.suffix(container: name))",
                    hint: "\(Hint.container(name)): \(Hint.image(image, platform: variants[index].platform)) runs as \(username); set securityContext.windowsOptions.runAsUserName to ContainerUser"))
            }
            if let unknown { return .unresolved(UnresolvedImage(container: name, image: image, reason: unknown, subject: pod.subject)) }
            return .allowed
        }
    }

    /// `strings.EqualFold(name, "ContainerAdministrator")`, including Go's simple folds of ſ to s.
    static func equalFoldRoot(_ name: String) -> Bool {
        let target = Array("containeradministrator".unicodeScalars)
        var index = 0
        for scalar in name.unicodeScalars {
            guard index < target.count else { return false }
            let folded: Unicode.Scalar
            switch scalar.value {
            case 0x41...0x5A: folded = Unicode.Scalar(scalar.value + 0x20) ?? scalar
            case 0x017F: folded = "s"
            case 0x212A: folded = "k"
            default: folded = scalar
            }
            guard folded == target[index] else { return false }
            index += 1
        }
        return index == target.count
    }
}
