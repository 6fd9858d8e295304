/// The result of evaluating a pod spec.
public struct Evaluation: Sendable, Equatable {
    public enum Entry: Sendable, Equatable {
        case finding(Finding)
        case unresolved(UnresolvedImage)
    }

    /// Findings and unresolved images in pod order (init, regular, ephemeral), pod-level findings last.
    public var entries: [Entry] = []
    /// Containers past `ReviewLimits.maximumContainers`, which were not evaluated.
    public var notEvaluated: ContainersNotEvaluated?

    public init() {}

    /// Reasons to deny.
    public var findings: [Finding] {
        entries.compactMap { if case .finding(let finding) = $0 { finding } else { nil } }
    }

    /// Containers whose image USER matters but could not be determined.
    public var unresolved: [UnresolvedImage] {
        entries.compactMap { if case .unresolved(let unresolved) = $0 { unresolved } else { nil } }
    }
}

/// Runs the checks of a policy over a pod. Pure: no I/O, no clock, no globals.
public struct PolicyEvaluator: Sendable {
    public var policy: PolicyName
    public var limits: ReviewLimits
    let containerChecks: [ContainerCheck]
    let podChecks: [PodCheck]

    /// Every check, in the order their findings are reported.
    public static let containerChecks: [ContainerCheck] = [.verifyRunAsNonRootLinux, .verifyRunAsNonRootWindows, .imageUserRestricted]
    /// Pod Security checks, in PSA's order (sorted IDs).
    public static let podChecks: [PodCheck] = [.runAsNonRoot, .runAsUser]

    public init(policy: PolicyName, limits: ReviewLimits = .init()) {
        self.policy = policy
        self.limits = limits
        self.containerChecks = PolicyEvaluator.containerChecks.filter { $0.policies.contains(policy) }
        self.podChecks = PolicyEvaluator.podChecks.filter { $0.policies.contains(policy) }
    }

    /// Evaluates `pod`'s selected containers. At most `limits.maximumImages` distinct images are asked of
    /// `images`; later ones are unresolved with `limits.imageBoundReason`, so the answer does not depend
    /// on how many images a review names.
    public func evaluate(_ pod: PodUnderReview, images: ImageUserResolver) -> Evaluation {
        var evaluation = Evaluation()
        evaluation.notEvaluated = pod.notEvaluated
        var asked = Set<String>()
        let maximumImages = limits.maximumImages
        let boundReason = limits.imageBoundReason
        let bounded: ImageUserResolver = { image in
            if asked.contains(image) { return images(image) }
            guard asked.count < maximumImages else { return .unresolved(reason: boundReason) }
            asked.insert(image)
            return images(image)
        }
        for container in pod.selected {
            for check in containerChecks {
                switch check.evaluate(container, pod, bounded) {
                case .allowed: continue
                case .denied(let finding): evaluation.entries.append(.finding(finding))
                case .unresolved(let unresolved): evaluation.entries.append(.unresolved(unresolved))
                }
                break
            }
        }
        guard !podChecks.isEmpty, !pod.selected.isEmpty else { return evaluation }
        var results: [PodCheckResult] = []
        for check in podChecks {
            if let result = check.evaluate(pod) { results.append(result) }
        }
        if !results.isEmpty {
            // PSA's ForbiddenDetail: "reason (detail)" joined by ", ", under the enforce prefix.
            let detail = results.map { $0.forbiddenDetail.isEmpty ? $0.forbiddenReason : "\($0.forbiddenReason) (\($0.forbiddenDetail))" }
            evaluation.entries.append(.finding(Finding(
                check: "podSecurity", container: nil,
                message: "violates PodSecurity \"restricted:latest\": \(detail.joined(separator: ", "))",
                hint: results.map(\.hint).joined(separator: "; "))))
        }
        return evaluation
    }

    /// The images whose USER the evaluation of `pod` needs, in first-use order: only containers that
    /// reach an image branch, and at most `limits.maximumImages` of them. Linear in the containers.
    public func imagesNeeded(for pod: PodUnderReview) -> [String] {
        var needed: [String] = []
        var seen = Set<String>()
        _ = evaluate(pod) { image in
            if seen.insert(image).inserted { needed.append(image) }
            return .unresolved(reason: "")
        }
        return needed
    }
}
