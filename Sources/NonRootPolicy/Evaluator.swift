public import ImageConfig

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
    /// Set when the pod's hints leave no node OS: no kubelet starts it, so its containers were not checked.
    public var noNodeOS: NoNodeOS?

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

    /// The OSes of the cluster's nodes (`--node-os`): a pod can land only on these.
    public var nodeOSes: [NodeOS]

    public init(policy: PolicyName, limits: ReviewLimits = .init(), nodeOSes: [NodeOS] = NodeOS.allCases) {
        self.policy = policy
        self.limits = limits
        self.nodeOSes = nodeOSes
        self.containerChecks = PolicyEvaluator.containerChecks.filter { $0.policies.contains(policy) }
        self.podChecks = PolicyEvaluator.podChecks.filter { $0.policies.contains(policy) }
    }

    /// Evaluates `pod`'s selected containers on each node OS it may land on. At most
    /// `limits.maximumImages` distinct images are asked of `images`; later ones are unresolved with
    /// `limits.imageBoundReason`, so the answer does not depend on how many images a review names.
    ///
    /// The OSes are those the spec's hints allow (`PodUnderReview.hintedOS`), narrowed by the
    /// platforms of the images the checks look up: an image built only for Windows never runs on
    /// Linux. Lookups depend only on the containers and the hinted OSes, never on what an image
    /// turns out to be, so `imagesNeeded` asks for exactly the images asked here. `images` is called
    /// once per distinct image, so a cache behind it counts one hit per image.
    public func evaluate(_ pod: PodUnderReview, images: ImageUserAnswers) -> Evaluation {
        var evaluation = Evaluation()
        evaluation.notEvaluated = pod.notEvaluated
        // Usually every hinted OS is a node OS (`--node-os` unset allows all): then no array is built.
        let hinted = pod.hintedOS.allSatisfy { nodeOSes.contains($0) } ? pod.hintedOS : pod.hintedOS.filter { nodeOSes.contains($0) }
        if hinted.isEmpty, !pod.selected.isEmpty, !containerChecks.isEmpty {
            var hints = NodeOS.hints(of: pod.spec)
            if !pod.hintedOS.isEmpty { hints.append("--node-os \(nodeOSes.map(\.rawValue).joined(separator: ","))") }
            evaluation.noNodeOS = NoNodeOS(subject: pod.subject, hints: hints)
        }
        let (verdicts, possible) = containerVerdicts(pod, on: hinted, images: images)
        // A refusal on any OS the pod may land on is reported, once. When the images leave no OS,
        // every hinted OS is judged, which names the platforms each image lacks.
        let judged = possible.flatMap { $0.isEmpty ? nil : $0 }
        for perOS in verdicts {
            var reported: [Evaluation.Entry] = []
            for (os, entry) in perOS where judged?.contains(os) ?? true && !reported.contains(entry) {
                reported.append(entry)
            }
            evaluation.entries += reported
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

    /// Each selected container's first non-allowed verdict per hinted OS, in pod order, for the
    /// containers that have one (which OSes count is known only once every image has been seen; at
    /// most maximumContainers × 2 entries), and the hinted OSes narrowed by the images' platforms:
    /// nil while no image has said (catalog entries never do), which spares building sets on every review.
    private func containerVerdicts(
        _ pod: PodUnderReview, on hinted: [NodeOS], images: ImageUserAnswers
    ) -> (verdicts: [[(os: NodeOS, entry: Evaluation.Entry)]], possible: Set<NodeOS>?) {
        var questions = BoundedImageQuestions(limits: limits, hinted: hinted)
        // The checks reach the state through a pointer: a captured `var` would cost two dynamic
        // exclusivity checks per question.
        return withUnsafeMutablePointer(to: &questions) { questions in
            func bounded(_ image: String) -> ImageUserLookup { questions.pointee.answer(image, from: images) }
            var verdicts: [[(os: NodeOS, entry: Evaluation.Entry)]] = []
            for container in pod.selected {
                var perOS: [(os: NodeOS, entry: Evaluation.Entry)] = []
                for os in hinted {
                    // By index: `for check in` would copy (retain) each check's name and policies.
                    for check in containerChecks.indices {
                        switch containerChecks[check].evaluate(container, pod, os, bounded) {
                        case .allowed: continue
                        case .denied(let finding): perOS.append((os, .finding(finding)))
                        case .unresolved(let unresolved): perOS.append((os, .unresolved(unresolved)))
                        }
                        break
                    }
                }
                // Allowed everywhere, the usual case, reports nothing: no entry, and no array to allocate.
                if !perOS.isEmpty { verdicts.append(perOS) }
            }
            return (verdicts, questions.pointee.possible)
        }
    }

    /// The images whose USER the evaluation of `pod` needs, in first-use order: only containers that
    /// reach an image branch, and at most `limits.maximumImages` of them. Linear in the containers.
    public func imagesNeeded(for pod: PodUnderReview) -> [String] {
        var needed: [String] = []
        // `evaluate` asks for each distinct image once.
        _ = evaluate(pod) { image in
            needed.append(image)
            return .unresolved(reason: "")
        }
        return needed
    }
}

/// The images one evaluation asks about: each distinct image is asked of the source once, however
/// many containers and OSes name it, and at most `limits.maximumImages` of them; later ones are
/// unresolved with `limits.imageBoundReason`.
private struct BoundedImageQuestions {
    let limits: ReviewLimits
    let hinted: [NodeOS]
    var asked = ImageMemo<ImageUserLookup>()
    /// The hinted OSes narrowed by the platforms of the images asked so far; nil while none has said.
    var possible: Set<NodeOS>?

    init(limits: ReviewLimits, hinted: [NodeOS]) {
        self.limits = limits
        self.hinted = hinted
    }

    mutating func answer(_ image: String, from images: ImageUserAnswers) -> ImageUserLookup {
        if let known = asked[image] { return known }
        guard asked.count < limits.maximumImages else { return .unresolved(reason: limits.imageBoundReason) }
        let lookup = images(image)
        asked.add(image, lookup)
        if let oses = lookup.nodeOSes { possible = (possible ?? Set(hinted)).intersection(oses) }
        return lookup
    }
}
