import AdmissionModel

/*
 Pod Security restricted "Running as Non-root" (check_runAsNonRoot.go, policy v1.35).

 Restricted fields: spec.securityContext.runAsNonRoot, spec.{initContainers,containers,ephemeralContainers}[*].securityContext.runAsNonRoot.
 Allowed values: true; a container may leave it unset when the pod sets true.
 Pods with hostUsers: false are exempt.
*/

extension PodCheck {
    public static let runAsNonRoot = PodCheck(id: "runAsNonRoot", policies: [.restricted]) { pod in
        let spec = pod.spec
        if spec.hostUsers == false { return nil }
        var badSetters: [String] = []
        var podRunAsNonRoot = false
        if let value = spec.securityContext?.runAsNonRoot {
            if value { podRunAsNonRoot = true } else { badSetters.append("pod") }
        }
        var explicitlyBad: [String] = []
        var implicitlyBad: [String] = []
        for container in PodCheck.visitContainers(spec) {
            if let value = container.securityContext?.runAsNonRoot {
                if !value { explicitlyBad.append(container.name) }
            } else if !podRunAsNonRoot {
                implicitlyBad.append(container.name)
            }
        }
        if !explicitlyBad.isEmpty {
            badSetters.append("\(pluralize("container", "containers", explicitlyBad.count)) \(joinQuote(explicitlyBad))")
        }
        if !badSetters.isEmpty {
            return PodCheckResult(
                forbiddenReason: "runAsNonRoot != true",
                forbiddenDetail: "\(badSetters.joined(separator: " and ")) must not set securityContext.runAsNonRoot=false",
                hint: "\(pod.subject.shortName): remove runAsNonRoot=false and set securityContext.runAsNonRoot=true (restricted policy)")
        }
        if !implicitlyBad.isEmpty {
            return PodCheckResult(
                forbiddenReason: "runAsNonRoot != true",
                forbiddenDetail: "pod or \(pluralize("container", "containers", implicitlyBad.count)) \(joinQuote(implicitlyBad)) must set securityContext.runAsNonRoot=true",
                hint: "\(pod.subject.shortName): set spec.securityContext.runAsNonRoot=true (restricted policy)")
        }
        return nil
    }

    /// `visitContainers`: init containers, then containers, then ephemeral containers.
    static func visitContainers(_ spec: PodSpec) -> [Container] {
        spec.initContainers + spec.containers + spec.ephemeralContainers
    }
}

/// PSA's `joinQuote`: `"a", "b"`.
func joinQuote(_ items: [String]) -> String {
    "\"" + items.joined(separator: "\", \"") + "\""
}

/// PSA's `pluralize`.
func pluralize(_ singular: String, _ plural: String, _ count: Int) -> String {
    count == 1 ? singular : plural
}
