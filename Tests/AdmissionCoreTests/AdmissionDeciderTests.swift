import AdmissionCore
import AdmissionModel
import ImageResolution
import NonRootPolicy
import Testing

/// Reviews in, response bytes out: every field of the answer, byte for byte.
struct AdmissionDeciderTests {
    static let catalog = try! ImageCatalog(entries: [
        ("nginx:1.27", ""),
        ("ghcr.io/acme/api:2", "64198"),
        ("mcr.microsoft.com/dotnet/samples:aspnetapp", "app"),
    ])

    static func review(
        apiVersion: String = "admission.k8s.io/v1", operation: String = "CREATE", kind: String = #"{"group":"","version":"v1","kind":"Pod"}"#,
        subResource: String? = nil, object: String, oldObject: String? = nil
    ) -> [UInt8] {
        var text = #"{"apiVersion":"\#(apiVersion)","kind":"AdmissionReview","request":{"uid":"705ab4f5-6393-11e8-b7cc-42010a800002","kind":\#(kind),"namespace":"shop","operation":"\#(operation)","userInfo":{"username":"alice"},"object":\#(object)"#
        if let oldObject { text += #","oldObject":\#(oldObject)"# }
        if let subResource { text += #","subResource":"\#(subResource)""# }
        return Array((text + "}}").utf8)
    }

    static func pod(image: String = "nginx:1.27", podSC: String = #"{"runAsNonRoot":true}"#, containerSC: String = "null", ephemeral: String = "[]") -> String {
        #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"shop","uid":"9d1b8a7c-0000-4000-8000-000000000001"},"spec":{"securityContext":\#(podSC),"containers":[{"name":"app","image":"\#(image)","securityContext":\#(containerSC)}],"ephemeralContainers":\#(ephemeral)}}"#
    }

    func decide(_ bytes: [UInt8], _ configuration: DecisionConfiguration = .init(), mode: EnforcementMode? = nil) throws -> Decision {
        let decider = AdmissionDecider(configuration: configuration)
        let prepared = try decider.prepare(try AdmissionReviewRequest.decode(bytes))
        return decider.decide(prepared, mode: mode) { Self.catalog.lookup($0) }
    }

    func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test func denialIsA403WithTheKubeletSentence() throws {
        let decision = try decide(Self.review(object: Self.pod()))
        #expect(decision.outcome == .denied)
        #expect(text(decision.reviewJSON) == #"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"705ab4f5-6393-11e8-b7cc-42010a800002","allowed":false,"status":{"status":"Failure","message":"container has runAsNonRoot and image will run as root (pod: \"web_shop(9d1b8a7c-0000-4000-8000-000000000001)\", container: app)","reason":"Forbidden","code":403},"warnings":["container \"app\": image nginx:1.27 has no USER, so it runs as root; set a numeric non-root USER (e.g. 65532) in its Dockerfile or set securityContext.runAsUser"]}}"#)
    }

    @Test func allowedIsMinimal() throws {
        let decision = try decide(Self.review(object: Self.pod(image: "ghcr.io/acme/api:2")))
        #expect(decision.outcome == .allowed)
        #expect(text(decision.responseJSON) == #"{"uid":"705ab4f5-6393-11e8-b7cc-42010a800002","allowed":true}"#)
    }

    @Test func dryRunNeverDenies() throws {
        let decision = try decide(Self.review(object: Self.pod(image: "mcr.microsoft.com/dotnet/samples:aspnetapp")), mode: .dryRun)
        #expect(decision.outcome == .wouldDeny)
        let sentence = #"container has runAsNonRoot and image has non-numeric user (app), cannot verify user is non-root (pod: \"web_shop(9d1b8a7c-0000-4000-8000-000000000001)\", container: app)"#
        #expect(text(decision.responseJSON) == #"{"uid":"705ab4f5-6393-11e8-b7cc-42010a800002","allowed":true,"auditAnnotations":{"would-deny":"\#(sentence)"},"warnings":["would deny (dry-run): \#(sentence)","container \"app\": image mcr.microsoft.com/dotnet/samples:aspnetapp has USER app, a name the kubelet cannot verify; set a numeric USER (e.g. 65532) or securityContext.runAsUser"]}"#)
    }

    @Test func v1beta1IsAnsweredInV1beta1() throws {
        let decision = try decide(Self.review(apiVersion: "admission.k8s.io/v1beta1", object: Self.pod(image: "ghcr.io/acme/api:2")))
        #expect(text(decision.reviewJSON) == #"{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","response":{"uid":"705ab4f5-6393-11e8-b7cc-42010a800002","allowed":true}}"#)
    }

    @Test func bareRequestIsAnsweredAsV1() throws {
        let bare = #"{"uid":"u-1","kind":{"kind":"Pod","version":"v1"},"operation":"CREATE","object":\#(Self.pod())}"#
        let decision = try decide(Array(bare.utf8))
        #expect(decision.apiVersion == .v1)
        #expect(decision.outcome == .denied)
        #expect(decision.response.uid == "u-1")
    }

    @Test func namespaceComesFromTheRequestWhenTheObjectLacksIt() throws {
        let object = #"{"metadata":{"name":"web","uid":"u"},"spec":{"securityContext":{"runAsNonRoot":true},"containers":[{"name":"app","image":"nginx:1.27"}]}}"#
        let decision = try decide(Self.review(object: object))
        #expect(decision.sentences == [#"container has runAsNonRoot and image will run as root (pod: "web_shop(u)", container: app)"#])
    }

    @Test func unresolvedImagesFollowTheUnresolvedSetting() throws {
        let review = Self.review(object: Self.pod(image: "quay.io/unknown/app:1"))
        let warned = try decide(review)
        #expect(warned.outcome == .allowed)
        #expect(warned.response.warnings == [#"container "app": cannot verify the USER of image quay.io/unknown/app:1: not in the image catalog; allowed by --unresolved=warn"#])
        let allowed = try decide(review, DecisionConfiguration(unresolved: .allow))
        #expect(text(allowed.responseJSON) == #"{"uid":"705ab4f5-6393-11e8-b7cc-42010a800002","allowed":true}"#)
        let denied = try decide(review, DecisionConfiguration(unresolved: .deny))
        #expect(denied.outcome == .denied)
        #expect(denied.response.status?.message == #"container has runAsNonRoot and the USER of image "quay.io/unknown/app:1" cannot be determined (not in the image catalog) (pod: "web_shop(9d1b8a7c-0000-4000-8000-000000000001)", container: app)"#)
    }

    @Test func updateEvaluatesOnlyChangedContainers() throws {
        // Same image as before: allowed even though it would be denied on CREATE.
        let unchanged = try decide(Self.review(operation: "UPDATE", object: Self.pod(), oldObject: Self.pod()))
        #expect(unchanged.outcome == .allowed)
        #expect(unchanged.skipReason == "UPDATE changes no container image or security context")
        let changed = try decide(Self.review(operation: "UPDATE", object: Self.pod(), oldObject: Self.pod(image: "ghcr.io/acme/api:2")))
        #expect(changed.outcome == .denied)
    }

    @Test func ephemeralContainersArriveAsASubresourceUpdate() throws {
        let debug = #"[{"name":"debugger","image":"nginx:1.27"}]"#
        let decision = try decide(Self.review(operation: "UPDATE", subResource: "ephemeralcontainers", object: Self.pod(image: "ghcr.io/acme/api:2", ephemeral: debug), oldObject: Self.pod(image: "ghcr.io/acme/api:2")))
        #expect(decision.sentences == [#"container has runAsNonRoot and image will run as root (pod: "web_shop(9d1b8a7c-0000-4000-8000-000000000001)", container: debugger)"#])
    }

    @Test func skippedRequestsAreAllowed() throws {
        #expect(try decide(Self.review(operation: "DELETE", object: Self.pod())).skipReason == "operation DELETE is not checked")
        #expect(try decide(Self.review(subResource: "status", object: Self.pod())).skipReason == "subresource status is not checked")
        let configMap = try decide(Self.review(kind: #"{"group":"","version":"v1","kind":"ConfigMap"}"#, object: #"{"data":{}}"#))
        #expect(configMap.skipReason == "kind ConfigMap carries no pod spec")
        #expect(configMap.outcome == .allowed)
    }

    @Test func workloadTemplatesAreEvaluated() throws {
        let deployment = #"{"metadata":{"name":"web","namespace":"shop"},"spec":{"template":{"spec":{"securityContext":{"runAsNonRoot":true},"containers":[{"name":"app","image":"nginx:1.27"}]}}}}"#
        let decision = try decide(Self.review(kind: #"{"group":"apps","version":"v1","kind":"Deployment"}"#, object: deployment))
        #expect(decision.sentences == [#"container has runAsNonRoot and image will run as root (deployment: "shop/web", container: app)"#])
        let cronJob = #"{"metadata":{"name":"nightly"},"spec":{"jobTemplate":{"spec":{"template":{"spec":{"containers":[{"name":"job","image":"nginx:1.27","securityContext":{"runAsNonRoot":true}}]}}}}}}"#
        let cron = try decide(Self.review(kind: #"{"group":"batch","version":"v1","kind":"CronJob"}"#, object: cronJob))
        #expect(cron.sentences == [#"container has runAsNonRoot and image will run as root (cronjob: "shop/nightly", container: job)"#])
    }

    @Test func severalContainersJoinWithSemicolons() throws {
        let object = #"{"metadata":{"name":"web","uid":"u"},"spec":{"securityContext":{"runAsNonRoot":true},"initContainers":[{"name":"init","image":"nginx:1.27"}],"containers":[{"name":"ok","image":"ghcr.io/acme/api:2"},{"name":"zero","image":"ghcr.io/acme/api:2","securityContext":{"runAsUser":0}}]}}"#
        let decision = try decide(Self.review(object: object))
        #expect(decision.response.status?.message == #"container has runAsNonRoot and image will run as root (pod: "web_shop(u)", container: init); container's runAsUser breaks non-root policy (pod: "web_shop(u)", container: zero)"#)
        #expect(decision.response.warnings.count == 2)
    }

    /// Fields are read in one pass over each object; the answer must be what a lookup per field gives:
    /// the last duplicate wins (and only it is type-checked), null reads as absent, and errors come in field order.
    @Test func duplicateAndNullFieldsDecodeAsOneLookupPerFieldWould() throws {
        let object = #"{"metadata":{"name":"a","name":"web","uid":null,"uid":"u"},"spec":{"containers":"x","containers":[{"image":1,"name":"app","image":"nginx:1","securityContext":{"runAsUser":"0","runAsUser":0,"runAsNonRoot":true}}],"initContainers":null}}"#
        let request = try AdmissionReviewRequest.decode(Self.review(object: object)).request
        let pod = try PodTemplateObject(kind: .pod, json: try #require(request.object))
        #expect(pod.metadata == ObjectMeta(name: "web", uid: "u"))
        #expect(pod.spec.initContainers.isEmpty)
        #expect(pod.spec.containers == [Container(name: "app", image: "nginx:1", securityContext: SecurityContext(runAsUser: 0, runAsNonRoot: true))])
        // Two bad fields: the one a field-by-field decoder reads first (initContainers before containers) is reported.
        let twoBad = #"{"metadata":{},"spec":{"containers":[{"name":7}],"initContainers":[{"image":true}]}}"#
        let twoBadRequest = try AdmissionReviewRequest.decode(Self.review(object: twoBad)).request
        let twoBadObject = try #require(twoBadRequest.object)
        do {
            _ = try PodTemplateObject(kind: .pod, json: twoBadObject)
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "request.object.spec.initContainers[0].image: expected a string, found a boolean")
        }
    }

    @Test func badReviewsAreClearErrors() throws {
        #expect(throws: AdmissionDecodingError.self) { try AdmissionReviewRequest.decode(Array("{".utf8)) }
        do {
            _ = try AdmissionReviewRequest.decode(Array(#"{"apiVersion":"v1","kind":"Pod"}"#.utf8))
            Issue.record("expected an error")
        } catch {
            #expect(error.description == #"invalid AdmissionReview: not an AdmissionReview or AdmissionRequest (kind "Pod")"#)
        }
        let badType = Self.review(object: Self.pod(containerSC: #"{"runAsUser":"0"}"#))
        do {
            _ = try decide(badType)
            Issue.record("expected an error")
        } catch let error as ModelDecodingError {
            #expect(error.description == "request.object.spec.containers[0].securityContext.runAsUser: expected an integer, found a string")
        }
    }
}

/// The per-review bounds: containers evaluated and distinct images looked up.
struct ReviewLimitsTests {
    static func pod(containers: Int, distinctImages: Int? = nil) -> String {
        let list = (0..<containers).map { #"{"name":"c\#($0)","image":"registry.example/app\#($0 % (distinctImages ?? containers)):1"}"# }
        return #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"shop","uid":"u1"},"spec":{"securityContext":{"runAsNonRoot":true},"containers":[\#(list.joined(separator: ","))]}}"#
    }

    func prepare(_ object: String, _ configuration: DecisionConfiguration) throws -> (AdmissionDecider, PreparedReview) {
        let decider = AdmissionDecider(configuration: configuration)
        return (decider, try decider.prepare(try AdmissionReviewRequest.decode(AdmissionDeciderTests.review(object: object))))
    }

    @Test func containersPastTheBoundAreReportedAndWarned() throws {
        let limits = ReviewLimits(maximumContainers: 3, maximumImages: 10)
        let (decider, prepared) = try prepare(Self.pod(containers: 5), DecisionConfiguration(unresolved: .allow, limits: limits))
        #expect(prepared.pod?.selected.map(\.container.name) == ["c0", "c1", "c2"])
        #expect(prepared.imagesNeeded == ["registry.example/app0:1", "registry.example/app1:1", "registry.example/app2:1"])
        let decision = decider.decide(prepared) { _ in .found(.uid(1000)) }
        #expect(decision.outcome == .allowed)
        // Said even under --unresolved allow: the operator must know the bound was hit.
        #expect(decision.response.warnings == [#"pod "web": 2 of its containers were not evaluated: at most 3 containers are evaluated per review"#])
    }

    @Test func containersPastTheBoundDenyUnderUnresolvedDeny() throws {
        let limits = ReviewLimits(maximumContainers: 4, maximumImages: 10)
        let (decider, prepared) = try prepare(Self.pod(containers: 5), DecisionConfiguration(unresolved: .deny, limits: limits))
        let decision = decider.decide(prepared) { _ in .found(.uid(1000)) }
        #expect(decision.outcome == .denied)
        #expect(decision.response.status?.message == #"1 container was not evaluated, past the 4 containers evaluated per review (pod "web")"#)
        #expect(decision.response.warnings == [#"pod "web": 1 of its containers was not evaluated: at most 4 containers are evaluated per review"#])
    }

    @Test func imagesPastTheBoundAreUnresolvedWithTheBoundNamed() throws {
        let limits = ReviewLimits(maximumContainers: 100, maximumImages: 2)
        // Six containers over three images: the third image is past the bound wherever it appears.
        let (decider, prepared) = try prepare(Self.pod(containers: 6, distinctImages: 3), DecisionConfiguration(unresolved: .deny, limits: limits))
        #expect(prepared.imagesNeeded == ["registry.example/app0:1", "registry.example/app1:1"])
        var asked: [String] = []
        let decision = decider.decide(prepared) { image in
            asked.append(image)
            return .found(.uid(1000))
        }
        #expect(Set(asked) == ["registry.example/app0:1", "registry.example/app1:1"])
        #expect(decision.outcome == .denied)
        #expect(decision.unresolved.map(\.container) == ["c2", "c5"])
        #expect(decision.sentences == [
            #"container has runAsNonRoot and the USER of image "registry.example/app2:1" cannot be determined (not looked up: the review names more than 2 distinct images, the most looked up per review) (pod: "web_shop(u1)", container: c2)"#,
            #"container has runAsNonRoot and the USER of image "registry.example/app2:1" cannot be determined (not looked up: the review names more than 2 distinct images, the most looked up per review) (pod: "web_shop(u1)", container: c5)"#,
        ])
    }

    @Test func updateBoundsTheChangedContainersOnly() throws {
        let limits = ReviewLimits(maximumContainers: 2, maximumImages: 10)
        let old = Self.pod(containers: 5)
        let new = old.replacingOccurrences(of: "app3:1", with: "app3:2").replacingOccurrences(of: "app4:1", with: "app4:2")
        let decider = AdmissionDecider(configuration: DecisionConfiguration(limits: limits))
        let prepared = try decider.prepare(try AdmissionReviewRequest.decode(AdmissionDeciderTests.review(operation: "UPDATE", object: new, oldObject: old)))
        #expect(prepared.pod?.selected.map(\.container.name) == ["c3", "c4"])
        #expect(prepared.pod?.notEvaluated == nil)
    }

    @Test func theDefaultsAreDocumentedOnes() {
        #expect(ReviewLimits().maximumContainers == 256)
        #expect(ReviewLimits().maximumImages == 32)
    }
}
