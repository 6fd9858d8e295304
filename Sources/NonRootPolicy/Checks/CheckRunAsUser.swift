/*
 Pod Security restricted "Running as Non-root user" (check_runAsUser.go, policy v1.35).

 Restricted fields: spec.securityContext.runAsUser, spec.{initContainers,containers,ephemeralContainers}[*].securityContext.runAsUser.
 Allowed values: any non-zero value, or unset. Pods with hostUsers: false are exempt.
*/

extension PodCheck {
    public static let runAsUser = PodCheck(id: "runAsUser", policies: [.restricted]) { pod in
        let spec = pod.spec
        if spec.hostUsers == false { return nil }
        var badSetters: [String] = []
        if spec.securityContext?.runAsUser == 0 { badSetters.append("pod") }
        let explicitlyBad = PodCheck.visitContainers(spec).filter { $0.securityContext?.runAsUser == 0 }.map(\.name)
        if !explicitlyBad.isEmpty {
            badSetters.append("\(pluralize("container", "containers", explicitlyBad.count)) \(joinQuote(explicitlyBad))")
        }
        guard !badSetters.isEmpty else { return nil }
        return PodCheckResult(
            forbiddenReason: "runAsUser=0",
            forbiddenDetail: "\(badSetters.joined(separator: " and ")) must not set runAsUser=0",
            hint: "\(pod.subject.shortName): remove runAsUser=0 or set a non-zero securityContext.runAsUser (restricted policy)")
    }
}
