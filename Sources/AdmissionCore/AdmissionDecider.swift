public import AdmissionModel
public import ImageConfig
public import JSON
public import NonRootPolicy

/// A review decoded and ready to evaluate once its images are resolved.
public struct PreparedReview: Sendable {
    public let review: AdmissionReviewRequest
    /// The pod under review, or nil when nothing is evaluated (see `skipReason`).
    public let pod: PodUnderReview?
    public let skipReason: String?
    let kindName: String
    let namespace: String
    let name: String
    let evaluator: PolicyEvaluator

    /// Where the kubelet would find pull secrets for this review's images: the pod's `imagePullSecrets`,
    /// or for a workload template the ServiceAccount's when the template names none. Nil when nothing
    /// is evaluated.
    public var pullSecretReference: PullSecretReference? {
        guard let pod else { return nil }
        let isPod: Bool
        if case .pod = pod.subject { isPod = true } else { isPod = false }
        return PullSecretReference(
            namespace: namespace, imagePullSecrets: pod.spec.imagePullSecrets,
            serviceAccountName: isPod ? nil : pod.spec.serviceAccountName, isTemplate: !isPod)
    }

    /// The images whose USER the decision needs, in first-use order. Computed (an evaluation) on each
    /// access: the server asks only when some image is not known at once (`decideIfKnown`).
    public var imagesNeeded: [String] {
        pod.map { evaluator.imagesNeeded(for: $0) } ?? []
    }
}

/// The pull secrets a review names, as `KubernetesAPI.PullSecrets` reads them.
public struct PullSecretReference: Sendable, Equatable {
    public var namespace: String
    public var imagePullSecrets: [String]
    /// A template's `serviceAccountName`; nil for a Pod, which the ServiceAccount admission plugin has
    /// already given the ServiceAccount's secrets when it named none.
    public var serviceAccountName: String?
    public var isTemplate: Bool
}

/// Turns AdmissionReviews into responses: decode, select containers, evaluate, answer.
///
/// The decision is split in two so that image lookups, which may be slow, happen in between
/// and outside: `prepare` says which images matter, `decide(_:images:)` answers.
public struct AdmissionDecider: Sendable {
    public var configuration: DecisionConfiguration
    let evaluator: PolicyEvaluator

    /// The audit annotation key for dry-run findings; the apiserver prefixes the webhook name.
    public static let wouldDenyAnnotation = "would-deny"

    public init(configuration: DecisionConfiguration) {
        self.configuration = configuration
        self.evaluator = PolicyEvaluator(policy: configuration.policy, limits: configuration.limits, nodeOSes: configuration.nodeOSes)
    }

    /// Decodes `review`'s object and finds the containers and images to evaluate.
    public func prepare(_ review: consuming AdmissionReviewRequest) throws(ModelDecodingError) -> PreparedReview {
        let parts = try preparedParts(of: review)
        // Consumed, not copied: the prepared review owns the caller's decoded review.
        return PreparedReview(
            review: review, pod: parts.pod, skipReason: parts.skipReason, kindName: parts.kindName,
            namespace: parts.namespace, name: parts.name, evaluator: evaluator)
    }

    /// What `prepare` stores beside the review: the pod under review, or why there is none, and the
    /// names the decision log uses.
    private func preparedParts(of review: borrowing AdmissionReviewRequest) throws(ModelDecodingError)
        -> (pod: PodUnderReview?, skipReason: String?, kindName: String, namespace: String, name: String) {
        let request = review.request
        let kindName = request.kindName
        func skipped(_ reason: String) -> (PodUnderReview?, String?, String, String, String) {
            (nil, reason, kindName, request.namespace ?? "", request.name ?? "")
        }
        guard request.operation == "CREATE" || request.operation == "UPDATE" else {
            return skipped("operation \(request.operation) is not checked")
        }
        guard let kind = request.podSpecKind else {
            return skipped("kind \(kindName.isEmpty ? "(unknown)" : kindName) carries no pod spec")
        }
        let subResource = request.subResource ?? ""
        guard subResource.isEmpty || (kind == .pod && subResource == "ephemeralcontainers") else {
            return skipped("subresource \(subResource) is not checked")
        }
        guard let objectJSON = request.object else {
            throw ModelDecodingError(path: "request.object", reason: "\(request.operation) of \(kind.rawValue) has no object", offset: 0)
        }
        let object = try PodTemplateObject(kind: kind, json: objectJSON)
        var selection = ContainerSelection.all
        var unchanged = false
        if request.operation == "UPDATE", let oldJSON = request.oldObject {
            let old = try PodTemplateObject(kind: kind, json: oldJSON)
            selection = .changed(from: old.spec, to: object.spec)
            unchanged = selection.isEmpty
        }
        let namespace = object.metadata.namespace ?? request.namespace ?? ""
        let name = object.metadata.name ?? request.name ?? ""
        let shownName = name.isEmpty ? (object.metadata.generateName ?? "") : name
        if unchanged {
            return (nil, "UPDATE changes no container image or security context", kindName, namespace, shownName)
        }
        let subject: Subject = kind == .pod
            ? .pod(name: name, namespace: namespace, uid: object.metadata.uid ?? "")
            : .template(kind: kind, namespace: namespace, name: name)
        let pod = PodUnderReview(subject: subject, spec: object.spec, selection: selection, maximumContainers: configuration.limits.maximumContainers)
        return (pod, nil, kindName, namespace, shownName)
    }

    /// Decodes review bytes and decides them when the image USERs are at hand (a catalog): the whole
    /// path the server and `replay` share. Both kinds of bad input come back as one error type.
    public func decide(
        bytes: [UInt8], limits: JSONLimits = .init(), mode: EnforcementMode? = nil, images: ImageUserAnswers
    ) throws(AdmissionDecodingError) -> Decision {
        decide(try prepare(bytes: bytes, limits: limits), mode: mode, images: images)
    }

    /// Decodes review bytes and prepares them; both kinds of bad input come back as one error type.
    public func prepare(bytes: [UInt8], limits: JSONLimits = .init()) throws(AdmissionDecodingError) -> PreparedReview {
        let review = try AdmissionReviewRequest.decode(bytes, limits: limits)
        do {
            return try prepare(consume review)
        } catch {
            throw .invalidReview(error)
        }
    }

    /// Decides `prepared` in one evaluation when every image it asks for is known at once: `known` gives
    /// what the catalog or a cache says, or nil for an image that needs a lookup. Nil when one does; the
    /// caller then looks up `prepared.imagesNeeded` and calls `decide(_:mode:images:)`.
    public func decideIfKnown(_ prepared: PreparedReview, mode: EnforcementMode? = nil, known: (String) -> ImageUserLookup?) -> Decision? {
        var complete = true
        // The evaluator asks for each distinct image once, so `known` (a cache) counts one hit per image.
        let decision = decide(prepared, mode: mode) { image in
            if let lookup = known(image) { return lookup }
            complete = false
            return .unresolved(reason: AdmissionPipeline.notLookedUp)
        }
        return complete ? decision : nil
    }

    /// Decides a prepared review, given what is known about its images.
    public func decide(_ prepared: PreparedReview, mode: EnforcementMode? = nil, images: ImageUserAnswers) -> Decision {
        let mode = mode ?? configuration.mode
        // Built once, at the end (see `prepare`); the request's fields are read in place.
        func decision(
            _ response: AdmissionResponse, _ outcome: Decision.Outcome,
            findings: [Finding] = [], sentences: [String] = [], unresolved: [UnresolvedImage] = []
        ) -> Decision {
            Decision(
                apiVersion: prepared.review.apiVersion, response: response, outcome: outcome, mode: mode,
                skipReason: prepared.skipReason, findings: findings, sentences: sentences, unresolved: unresolved,
                kind: prepared.kindName, namespace: prepared.namespace, name: prepared.name,
                operation: prepared.review.request.operation, username: prepared.review.request.userInfo?.username ?? "")
        }
        var response = AdmissionResponse(uid: prepared.review.request.uid, allowed: true)
        guard let pod = prepared.pod else { return decision(response, .allowed) }
        let evaluation = evaluator.evaluate(pod, images: images)

        var sentences: [String] = []
        var warnings: [String] = []
        for entry in evaluation.entries {
            switch entry {
            case .finding(let finding):
                sentences.append(finding.message)
                if mode == .dryRun { warnings.append("would deny (dry-run): \(finding.message)") }
                warnings.append(finding.hint)
            case .unresolved(let unresolved):
                switch configuration.unresolved {
                case .allow:
                    break
                case .warn:
                    warnings.append("container \(goQuote(unresolved.container)): cannot verify the USER of image \(unresolved.image): \(unresolved.reason); allowed by --unresolved=warn")
                case .deny:
                    sentences.append(unresolved.message)
                    if mode == .dryRun { warnings.append("would deny (dry-run): \(unresolved.message)") }
                    warnings.append("container \(goQuote(unresolved.container)): cannot verify the USER of image \(unresolved.image): \(unresolved.reason); add it to the image catalog or set securityContext.runAsUser")
                }
            }
        }
        if let none = evaluation.noNodeOS { warnings.append(none.warning) }
        if let left = evaluation.notEvaluated {
            // Always said: the operator must know the bound was hit, whatever --unresolved says.
            warnings.append(left.warning)
            if configuration.unresolved == .deny {
                sentences.append(left.message)
                if mode == .dryRun { warnings.append("would deny (dry-run): \(left.message)") }
            }
        }
        var seen = Set<String>()
        response.warnings = warnings.map(Hint.warning).filter { seen.insert($0).inserted }
        var outcome = Decision.Outcome.allowed
        if !sentences.isEmpty {
            let message = sentences.joined(separator: "; ")
            switch mode {
            case .enforce:
                response.allowed = false
                response.status = .forbidden(message)
                outcome = .denied
            case .dryRun:
                response.auditAnnotations = [(AdmissionDecider.wouldDenyAnnotation, message)]
                outcome = .wouldDeny
            }
        }
        return decision(response, outcome, findings: evaluation.findings, sentences: sentences, unresolved: evaluation.unresolved)
    }
}
