import AdmissionModel
import ReviewInput
import Testing

/// One audit event line; `extra` is spliced in after the objectRef.
private func auditEvent(id: String, stage: String, verb: String, resource: String = "pods", group: String? = nil,
                        subresource: String? = nil, extra: String = "") -> String {
    var ref = #""resource":"\#(resource)","namespace":"shop","name":"web","apiVersion":"v1""#
    if let group { ref += #","apiGroup":"\#(group)""# }
    if let subresource { ref += #","subresource":"\#(subresource)""# }
    return #"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"\#(id)","stage":"\#(stage)","requestURI":"/api/v1/namespaces/shop/pods","verb":"\#(verb)","user":{"username":"alice","groups":["dev"]},"objectRef":{\#(ref)}\#(extra)}"#
}

private let requestPod = #"{"kind":"Pod","apiVersion":"v1","metadata":{"name":"web"},"spec":{"containers":[{"name":"web","image":"nginx"}]}}"#
private let responsePod = #"{"kind":"Pod","apiVersion":"v1","metadata":{"name":"web","namespace":"shop","uid":"p-1"},"spec":{"containers":[{"name":"web","image":"nginx","imagePullPolicy":"Always"}]}}"#

@Suite("Kubernetes audit logs")
struct AuditInputTests {
    @Test("a pod create at RequestReceived and ResponseComplete is one request: uid = auditID, object = responseObject")
    func podCreate() throws {
        try withTemporaryDirectory { directory in
            let received = auditEvent(id: "a-1", stage: "RequestReceived", verb: "create")
            let complete = auditEvent(id: "a-1", stage: "ResponseComplete", verb: "create",
                                      extra: #","responseStatus":{"metadata":{},"code":201},"requestObject":\#(requestPod),"responseObject":\#(responsePod)"#)
            let file = try directory.write("audit.log", received + "\n" + complete + "\n")
            let items = InputReader.read(paths: [file], as: .reviews)
            #expect(items.count == 1)
            let document = try #require(items.first?.document)
            #expect(document.source == file + "#2")
            #expect(document.text == #"{"uid":"a-1","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"namespace":"shop","name":"web","operation":"CREATE","userInfo":{"username":"alice"},"object":\#(responsePod),"dryRun":false}"#)

            // What the decision pipeline reads of it.
            let request = try AdmissionReviewRequest.decode(document.bytes)
            #expect(request.isBareRequest)
            #expect(request.request.uid == "a-1")
            #expect(request.request.operation == "CREATE")
            #expect(request.request.podSpecKind == .pod)
            #expect(request.request.object.map { Array($0.rawBytes) } == bytes(responsePod))
        }
    }

    @Test("without a responseObject (level Request) the requestObject is used; a Status response is not an object")
    func requestLevelCreate() throws {
        try withTemporaryDirectory { directory in
            let status = #"{"kind":"Status","apiVersion":"v1","status":"Failure","code":403}"#
            let denied = auditEvent(id: "a-2", stage: "ResponseComplete", verb: "create",
                                    extra: #","requestObject":\#(requestPod),"responseObject":\#(status)"#)
            let file = try directory.write("denied.jsonl", denied)
            let items = InputReader.read(paths: [file], as: .reviews)
            let document = try #require(items.first?.document)
            #expect(items.count == 1)
            #expect(document.source == file)
            #expect(try document.parsed().root["object"].map { Array($0.rawBytes) } == bytes(requestPod))
        }
    }

    @Test("a get is skipped, with a note")
    func getIsSkipped() throws {
        try withTemporaryDirectory { directory in
            let get = auditEvent(id: "g-1", stage: "ResponseComplete", verb: "get", extra: #","responseObject":\#(responsePod)"#)
            let file = try directory.write("get.log", get + "\n")
            #expect(InputReader.read(paths: [file], as: .reviews) == [
                .note("\(file): skipped 1 audit event that is not a create or update of a pod or workload with its object (needs level Request or RequestResponse)"),
            ])
        }
    }

    @Test("a patch logged at level Request (only the patch, not the object) is skipped, with a note")
    func patchAtRequestLevel() throws {
        try withTemporaryDirectory { directory in
            let patch = auditEvent(id: "p-1", stage: "ResponseComplete", verb: "patch", resource: "deployments", group: "apps",
                                   extra: #","requestObject":{"spec":{"replicas":3}}"#)
            let received = auditEvent(id: "p-1", stage: "RequestReceived", verb: "patch", resource: "deployments", group: "apps")
            let file = try directory.write("patch.log", received + "\n" + patch + "\n")
            #expect(InputReader.read(paths: [file], as: .reviews) == [
                .note("\(file): skipped 2 audit events that are not a create or update of a pod or workload with its object (needs level Request or RequestResponse)"),
            ])
        }
    }

    @Test("a patch with its resulting object is an UPDATE; other resources, subresources and metadata-only events are skipped")
    func mixedLog() throws {
        try withTemporaryDirectory { directory in
            let deployment = #"{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"web"},"spec":{"template":{"spec":{"containers":[]}}}}"#
            let lines = [
                auditEvent(id: "1", stage: "ResponseComplete", verb: "patch", resource: "deployments", group: "apps",
                           extra: #","requestObject":{"spec":{"replicas":3}},"responseObject":\#(deployment)"#),
                auditEvent(id: "2", stage: "ResponseComplete", verb: "update", subresource: "status", extra: #","requestObject":\#(requestPod)"#),
                auditEvent(id: "3", stage: "ResponseComplete", verb: "create", resource: "services", extra: #","requestObject":{"kind":"Service"}"#),
                auditEvent(id: "4", stage: "ResponseComplete", verb: "create"),
                auditEvent(id: "5", stage: "ResponseComplete", verb: "delete"),
                auditEvent(id: "6", stage: "ResponseComplete", verb: "update", subresource: "ephemeralcontainers", extra: #","requestObject":\#(requestPod)"#),
                auditEvent(id: "7", stage: "ResponseComplete", verb: "create", resource: "jobs", group: "example.com", extra: #","requestObject":{"kind":"Job"}"#),
            ]
            let file = try directory.write("mixed.log", lines.joined(separator: "\n"))
            let items = InputReader.read(paths: [file], as: .reviews)
            #expect(items.count == 3)
            let patch = try #require(items[0].document).parsed().root
            #expect(items[0].document?.source == file + "#1")
            #expect(patch["operation"]?.string == "UPDATE")
            #expect(patch["kind"]?["kind"]?.string == "Deployment")
            #expect(patch["kind"]?["group"]?.string == "apps")
            #expect(patch["resource"]?["resource"]?.string == "deployments")
            #expect(patch["object"].map { Array($0.rawBytes) } == bytes(deployment))
            let ephemeral = try #require(items[1].document).parsed().root
            #expect(items[1].document?.source == file + "#6")
            #expect(ephemeral["subResource"]?.string == "ephemeralcontainers")
            #expect(ephemeral["operation"]?.string == "UPDATE")
            #expect(items[2] == .note("\(file): skipped 5 audit events that are not a create or update of a pod or workload with its object (needs level Request or RequestResponse)"))
        }
    }

    @Test("an EventList's items are events; pretty-printed by kubectl as one .json document")
    func eventList() throws {
        try withTemporaryDirectory { directory in
            let create = auditEvent(id: "e-1", stage: "ResponseComplete", verb: "create", extra: #","requestObject":\#(requestPod)"#)
            let list = #"{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[\#(create),\#(auditEvent(id: "e-2", stage: "ResponseComplete", verb: "list"))]}"#
            let file = try directory.write("events.json", list)
            let items = InputReader.read(paths: [file], as: .reviews)
            #expect(items.count == 2)
            #expect(items[0].document?.source == file + "#1")
            #expect(try items[0].document?.parsed().root["uid"]?.string == "e-1")
            #expect(items[1].note?.hasPrefix("\(file): skipped 1 audit event ") == true)
        }
    }
}
