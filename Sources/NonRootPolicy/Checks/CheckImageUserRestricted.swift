/*
 Restricted only: an image must declare a numeric non-root USER unless runAsUser is set.

 Pod Security restricted requires runAsNonRoot=true everywhere, and once it is set the kubelet
 will check the image. This check applies the kubelet's image rules to containers that have not
 opted in yet, so the user sees both problems at once and in the kubelet's words.
 Containers with an effective runAsNonRoot=true are left to verifyRunAsNonRoot.
*/

extension ContainerCheck {
    public static let imageUserRestricted = ContainerCheck(
        id: "imageUser", policies: [.restricted]
    ) { container, pod, os, images in
        guard container.effective.runAsNonRoot != true else { return .allowed }
        if os == .windows {
            return WindowsUserRule.verdict(for: container, in: pod, images: images, check: "imageUser")
        }
        // A set runAsUser bypasses the image; runAsUser=0 is the runAsUser check's to report.
        guard container.effective.runAsUser == nil else { return .allowed }
        return LinuxImageUserRule.verdict(for: container, in: pod, images: images, check: "imageUser")
    }
}
