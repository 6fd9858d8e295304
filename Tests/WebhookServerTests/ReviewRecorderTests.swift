import AdmissionCore
import AdmissionModel
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import ImageResolution
import JSON
import Logging
@testable import ReviewRecording
import Synchronization
import Testing
@testable import WebhookServer
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The review recorder: what a record file holds (an allowlist of the request, response as sent), how the
// directory stays bounded, and that failures are reported without stopping the writer.

private let podReview = #"""
{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"705ab4f5-6393-11e8-b7cc-42010a800002",\#
"kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},\#
"namespace":"shop","operation":"CREATE","userInfo":{"username":"alice"},\#
"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"shop","annotations":{\#
"kubectl.kubernetes.io/last-applied-configuration":"{\"spec\":{\"containers\":[{\"env\":[{\"name\":\"PASSWORD\",\"value\":\"hunter2\"}]}]}}",\#
"team":"shop"}},"spec":{"securityContext":{"runAsNonRoot":true},\#
"initContainers":[{"name":"init","image":"busybox","env":[{"name":"INIT_TOKEN","value":"init-secret"}]}],\#
"containers":[{"name":"app","image":"nginx:1.27","env":[{"name":"PASSWORD","value":"hunter2"},\#
{"name":"FROM_SECRET","valueFrom":{"secretKeyRef":{"name":"db","key":"password"}}},{"name":"UNSET"},{"name":"NULL","value":null}]}],\#
"ephemeralContainers":[{"name":"debug","image":"busybox","env":[{"name":"X","value":"ephemeral-secret"}]}]}},\#
"oldObject":null,"dryRun":false}}
"""#

private let deploymentReview = #"""
{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"dep-1",\#
"kind":{"group":"apps","version":"v1","kind":"Deployment"},"namespace":"shop","operation":"UPDATE",\#
"object":{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"api","annotations":{\#
"kubectl.kubernetes.io/last-applied-configuration":"{\"kind\":\"Deployment\",\"value\":\"top-secret\"}","deployment.kubernetes.io/revision":"3"}},\#
"spec":{"replicas":2,"template":{"metadata":{"labels":{"app":"api"},"annotations":{\#
"kubectl.kubernetes.io/last-applied-configuration":"template-secret","prometheus.io/scrape":"true"}},\#
"spec":{"containers":[{"name":"api","image":"ghcr.io/acme/api:2","env":[{"name":"DB_PASSWORD","value":"new-secret"},\#
{"name":"DB_USER","valueFrom":{"configMapKeyRef":{"name":"db","key":"user"}}}]}]}}}},\#
"oldObject":{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"api"},\#
"spec":{"template":{"spec":{"containers":[{"name":"api","image":"ghcr.io/acme/api:1","env":[{"name":"DB_PASSWORD","value":"old-secret"}]}]}}}}}}
"""#

private let cronJobRequest = #"""
{"uid":"cron-1","kind":{"group":"batch","version":"v1","kind":"CronJob"},"operation":"CREATE",\#
"object":{"apiVersion":"batch/v1","kind":"CronJob","metadata":{"name":"nightly"},"spec":{"schedule":"0 3 * * *",\#
"jobTemplate":{"spec":{"template":{"spec":{"containers":[{"name":"job","image":"busybox","env":[{"name":"TOKEN","value":"cron-secret"}]}]}}}}}}}
"""#

private let allowedResponse = #"{"uid":"705ab4f5-6393-11e8-b7cc-42010a800002","allowed":true,"warnings":["container \"app\": image nginx:1.27 has no USER"]}"#

/// A Pod created by a StatefulSet controller, with a secret in every place a pod can hold one.
private let secretPodReview = #"""
{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"sec-1",\#
"kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},\#
"requestKind":{"group":"","version":"v1","kind":"Pod"},"name":"api-0","namespace":"shop","operation":"CREATE",\#
"userInfo":{"username":"system:serviceaccount:kube-system:statefulset-controller","groups":["s3cret-1"],"extra":{"authentication.kubernetes.io/credential-id":["s3cret-2"]}},\#
"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"api-0","generateName":"api-","namespace":"shop","uid":"pod-uid","labels":{"app":"api"},\#
"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"s3cret-3","vault.hashicorp.com/agent-inject-token":"s3cret-4"},\#
"ownerReferences":[{"apiVersion":"apps/v1","kind":"StatefulSet","name":"api","uid":"sts-uid","controller":true,"blockOwnerDeletion":true}],\#
"managedFields":[{"manager":"s3cret-5"}]},\#
"spec":{"securityContext":{"runAsNonRoot":true,"runAsUser":1000},"os":{"name":"linux"},"nodeSelector":{"kubernetes.io/os":"linux"},\#
"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"kubernetes.io/os","operator":"In","values":["linux"]}]}]}},\#
"podAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":[{"labelSelector":{"matchLabels":{"x":"s3cret-6"}},"topologyKey":"zone"}]}},\#
"hostUsers":false,"serviceAccountName":"api","imagePullSecrets":[{"name":"regcred","extra":"s3cret-7"}],\#
"volumes":[{"name":"creds","flexVolume":{"driver":"acme/cifs","options":{"password":"s3cret-8"}}},{"name":"tok","secret":{"secretName":"s3cret-9"}}],\#
"containers":[{"name":"api","image":"ghcr.io/acme/api:2","command":["/bin/api","--token=s3cret-10"],"args":["--db-password","s3cret-11"],\#
"env":[{"name":"PASSWORD","value":"s3cret-12"}],"envFrom":[{"secretRef":{"name":"s3cret-13"}}],\#
"livenessProbe":{"httpGet":{"path":"/healthz","port":8080,"httpHeaders":[{"name":"Authorization","value":"Bearer s3cret-14"}]}},\#
"lifecycle":{"preStop":{"exec":{"command":["curl","-H","X-Token: s3cret-15"]}}},\#
"securityContext":{"runAsUser":1001,"allowPrivilegeEscalation":false}}]}},\#
"oldObject":null,"dryRun":false,"options":{"kind":"CreateOptions","apiVersion":"meta.k8s.io/v1","fieldManager":"s3cret-16"}}}
"""#

/// A byte budget that counts what it lends and the most it lent at once.
private final class TestBudget: Sendable {
    let limit: Int
    private let state = Mutex<(used: Int, peak: Int)>((0, 0))

    init(limit: Int) { self.limit = limit }

    var used: Int { state.withLock { $0.used } }
    var peak: Int { state.withLock { $0.peak } }

    var recorderBudget: RecorderBudget {
        RecorderBudget(
            reserve: { count in
                self.state.withLock { state in
                    guard state.used + count <= self.limit else { return false }
                    state.used += count
                    state.peak = max(state.peak, state.used)
                    return true
                }
            },
            release: { count in self.state.withLock { $0.used -= count } })
    }
}

private let quietLogger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

/// Records `reviews` with a fresh recorder in `directory`, drains it, and returns the recorder.
@discardableResult
private func recordAll(
    _ reviews: [(body: String, uid: String)], in directory: String, limits: RecorderLimits = .init(),
    response: String = allowedResponse, logger: Logger = quietLogger
) async throws -> ReviewRecorder {
    let recorder = try ReviewRecorder(directory: directory, limits: limits, logger: logger)
    for review in reviews { recorder.record(body: Array(review.body.utf8), responseJSON: Array(response.utf8), uid: review.uid) }
    recorder.finish()
    await recorder.run()
    return recorder
}

/// The single record file in `directory`, parsed.
private func onlyRecord(in directory: String) throws -> (name: String, text: String, root: JSONValue) {
    let names = try directoryNames(directory)
    guard names.count == 1, let name = names.first else { throw TestFailure("expected one file, found \(names)") }
    let bytes = try readBytes(directory + "/" + name)
    return (name, String(decoding: bytes, as: UTF8.self), try JSONDocument(parsing: bytes).root)
}

private func recordedUIDs(in directory: String) throws -> [String] {
    try directoryNames(directory).map { name in
        let root = try JSONDocument(parsing: try readBytes(directory + "/" + name)).root
        return root.at("request", "uid")?.string ?? "?"
    }
}

@Suite("Review recorder: record content")
struct ReviewRecordContentTests {
    @Test("a Pod keeps only the allowlist: identity, security contexts, names and images; env and annotations are gone")
    func allowlistPod() async throws {
        try await withTemporaryDirectory { directory in
            try await recordAll([(podReview, "705ab4f5-6393-11e8-b7cc-42010a800002")], in: directory)
            let (_, text, root) = try onlyRecord(in: directory)
            for secret in ["hunter2", "init-secret", "ephemeral-secret", "last-applied", "team", "env", "secretKeyRef"] {
                #expect(!text.contains(secret), "\(secret) reached disk")
            }
            #expect(root.at("request")?.rawText == #"{"uid":"705ab4f5-6393-11e8-b7cc-42010a800002","kind":{"group":"","version":"v1","kind":"Pod"},"# +
                #""resource":{"group":"","version":"v1","resource":"pods"},"namespace":"shop","operation":"CREATE","userInfo":{"username":"alice"},"# +
                #""object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"shop"},"spec":{"securityContext":{"runAsNonRoot":true},"# +
                #""initContainers":[{"name":"init","image":"busybox"}],"containers":[{"name":"app","image":"nginx:1.27"}],"# +
                #""ephemeralContainers":[{"name":"debug","image":"busybox"}]}},"oldObject":null,"dryRun":false}"#)
        }
    }

    @Test("workloads keep the pod spec at their kind's path, in object and oldObject; other fields and template metadata are gone")
    func allowlistWorkloads() async throws {
        try await withTemporaryDirectory { directory in
            try await recordAll([(deploymentReview, "dep-1")], in: directory)
            let (_, text, root) = try onlyRecord(in: directory)
            for secret in ["new-secret", "old-secret", "top-secret", "template-secret", "replicas", "prometheus"] {
                #expect(!text.contains(secret), "\(secret) reached disk")
            }
            #expect(root.at("request", "object")?.rawText == #"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"api"},"# +
                #""spec":{"template":{"spec":{"containers":[{"name":"api","image":"ghcr.io/acme/api:2"}]}}}}"#)
            #expect(root.at("request", "oldObject")?.rawText == #"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"api"},"# +
                #""spec":{"template":{"spec":{"containers":[{"name":"api","image":"ghcr.io/acme/api:1"}]}}}}"#)
        }
        try await withTemporaryDirectory { directory in
            try await recordAll([(cronJobRequest, "cron-1")], in: directory)
            let (_, text, root) = try onlyRecord(in: directory)
            #expect(!text.contains("cron-secret") && !text.contains("schedule"))
            #expect(root.at("request", "object")?.rawText == #"{"apiVersion":"batch/v1","kind":"CronJob","metadata":{"name":"nightly"},"# +
                #""spec":{"jobTemplate":{"spec":{"template":{"spec":{"containers":[{"name":"job","image":"busybox"}]}}}}}}"#)
        }
    }

    @Test("secrets in args, command, probe headers, lifecycle, flexVolume options, volumes, envFrom, annotations, userInfo and options never reach disk")
    func secretsNeverRecorded() async throws {
        try await withTemporaryDirectory { directory in
            try await recordAll([(secretPodReview, "sec-1")], in: directory)
            let (name, _, root) = try onlyRecord(in: directory)
            let bytes = try readBytes(directory + "/" + name)
            let secrets = (1...16).map { "s3cret-\($0)" }
            for secret in secrets {
                #expect(!bytes.contains(Array(secret.utf8)), "\(secret) reached disk")
            }
            // The input holds every one of them, so the check above can fail.
            for secret in secrets { #expect(secretPodReview.contains(secret)) }
            #expect(root.at("request", "object", "spec")?.rawText == #"{"securityContext":{"runAsNonRoot":true,"runAsUser":1000},"# +
                #""os":{"name":"linux"},"nodeSelector":{"kubernetes.io/os":"linux"},"# +
                #""affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"kubernetes.io/os","operator":"In","values":["linux"]}]}]}}},"# +
                #""hostUsers":false,"serviceAccountName":"api","imagePullSecrets":[{"name":"regcred"}],"# +
                #""containers":[{"name":"api","image":"ghcr.io/acme/api:2","securityContext":{"runAsUser":1001,"allowPrivilegeEscalation":false}}]}"#)
            #expect(root.at("request", "object", "metadata")?.rawText == #"{"name":"api-0","generateName":"api-","namespace":"shop","uid":"pod-uid","# +
                #""labels":{"app":"api"},"ownerReferences":[{"apiVersion":"apps/v1","kind":"StatefulSet","name":"api","uid":"sts-uid","controller":true}]}"#)
            #expect(root.at("request", "userInfo")?.rawText == #"{"username":"system:serviceaccount:kube-system:statefulset-controller"}"#)
            #expect(root.at("request", "requestKind")?.rawText == #"{"group":"","version":"v1","kind":"Pod"}"#)
        }
    }

    @Test("a value of the wrong type at a kept path keeps only its type; members repeated are written once, the last")
    func wrongTypesAndDuplicates() async throws {
        let request = #"{"uid":"u-1","operation":"CREATE","kind":{"group":"","version":"v1","kind":"Pod"},"userInfo":{"username":"bob","groups":["s3cret-g"]},"# +
            #""object":{"kind":"Pod","metadata":{"name":"a","name":"b","labels":7},"spec":{"containers":{"name":"s3cret-x"},"# +
            #""initContainers":[{"name":"i","image":{"a":"s3cret-y"}}],"imagePullSecrets":"s3cret-z","hostUsers":"yes","securityContext":{"runAsUser":1.50}}}}"#
        try await withTemporaryDirectory { directory in
            try await recordAll([(request, "u-1")], in: directory)
            let (_, text, root) = try onlyRecord(in: directory)
            #expect(!text.contains("s3cret"))
            #expect(root.at("request")?.rawText == #"{"uid":"u-1","kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE","userInfo":{"username":"bob"},"# +
                #""object":{"kind":"Pod","metadata":{"name":"b","labels":7},"spec":{"securityContext":{"runAsUser":1.50},"hostUsers":"yes","# +
                #""imagePullSecrets":"","initContainers":[{"name":"i","image":{}}],"containers":{}}}}"#)
        }
    }

    @Test("a record decides exactly as the review it was made from", arguments: [podReview, deploymentReview, cronJobRequest, secretPodReview])
    func recordDecidesAlike(review: String) throws {
        let record = try ReviewRecord.encode(body: Array(review.utf8), responseJSON: Array(allowedResponse.utf8))
        let catalog = try ImageCatalog(entries: [("nginx:1.27", ""), ("busybox", "65534"), ("ghcr.io/acme/api:2", "app")])
        for configuration in [DecisionConfiguration(), DecisionConfiguration(policy: .restricted, unresolved: .deny)] {
            let decider = AdmissionDecider(configuration: configuration)
            let original = try decider.decide(bytes: Array(review.utf8)) { catalog.lookup($0) }
            let replayed = try decider.decide(bytes: record) { catalog.lookup($0) }
            #expect(replayed.responseJSON == original.responseJSON)
            #expect(replayed.outcome == original.outcome)
        }
    }

    @Test("the file is a full AdmissionReview: apiVersion of the request, the request, the response exactly as sent")
    func fileReadsBack() async throws {
        try await withTemporaryDirectory { directory in
            let recorder = try await recordAll([(podReview, "705ab4f5-6393-11e8-b7cc-42010a800002")], in: directory)
            #expect(recorder.writtenCount == 1)
            #expect(recorder.droppedCount == 0)
            let (name, text, root) = try onlyRecord(in: directory)
            #expect(name.wholeMatch(of: /\d{8}T\d{6}\.\d{6}-\d{6}-705ab4f5-6393-11e8-b7cc-42010a800002\.json/) != nil, "\(name)")
            #expect(text.hasPrefix(#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"705ab4f5-6393-11e8-b7cc-42010a800002","#))
            #expect(!text.contains("\n"))
            #expect(root.members.map(\.key) == ["apiVersion", "kind", "request", "response"])
            #expect(root.at("response")?.rawText == allowedResponse)
            // It decodes as the review the server received.
            let review = try AdmissionReviewRequest(json: root)
            #expect(review.apiVersion == .v1)
            #expect(review.request.uid == "705ab4f5-6393-11e8-b7cc-42010a800002")
            #expect(review.request.kindName == "Pod")
            #expect(review.request.userInfo?.username == "alice")
        }
    }

    @Test("a whole response AdmissionReview is stored as its response object")
    func responseEnvelope() async throws {
        try await withTemporaryDirectory { directory in
            let envelope = #"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":"# + allowedResponse + "}"
            try await recordAll([(podReview, "u")], in: directory, response: envelope)
            #expect(try onlyRecord(in: directory).root.at("response")?.rawText == allowedResponse)
        }
    }

    @Test("a v1beta1 review keeps its apiVersion")
    func v1beta1() async throws {
        try await withTemporaryDirectory { directory in
            let body = podReview.replacing("admission.k8s.io/v1", with: "admission.k8s.io/v1beta1")
            try await recordAll([(body, "u")], in: directory)
            #expect(try onlyRecord(in: directory).root.at("apiVersion")?.string == "admission.k8s.io/v1beta1")
        }
    }

    @Test("a bare AdmissionRequest is wrapped in an admission.k8s.io/v1 AdmissionReview")
    func bareRequestWrapped() async throws {
        try await withTemporaryDirectory { directory in
            try await recordAll([(cronJobRequest, "cron-1")], in: directory)
            let (_, text, root) = try onlyRecord(in: directory)
            #expect(text.hasPrefix(#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"cron-1","#))
            #expect(root.at("request", "operation")?.string == "CREATE")
            #expect(root.at("response", "allowed")?.bool == true)
            #expect(try AdmissionReviewRequest(json: root).isBareRequest == false)
        }
    }

    @Test("kept values are copied value for value: escapes and number spelling; whitespace goes")
    func preservesValues() async throws {
        let request = #"{"uid":"u-1","operation":"CREATE","object":{"kind":"Pod","metadata":{"name":"caf\u00e9","labels":{"b":"1","a":"\"q\"\n"}},"# +
            #""spec":{"securityContext":{"runAsUser":1E3},"containers":[{"name":"c","image":"x\ud83d\ude00","args":["-n"]}]}}}"#
        try await withTemporaryDirectory { directory in
            try await recordAll([(request, "u-1")], in: directory)
            let root = try onlyRecord(in: directory).root
            #expect(root.at("request")?.rawText == #"{"uid":"u-1","operation":"CREATE","object":{"kind":"Pod","metadata":{"name":"caf\u00e9","labels":{"b":"1","a":"\"q\"\n"}},"# +
                #""spec":{"securityContext":{"runAsUser":1E3},"containers":[{"name":"c","image":"x\ud83d\ude00"}]}}}"#)
        }
        try await withTemporaryDirectory { directory in
            try await recordAll([("{\n  \"uid\": \"u-2\",\n  \"operation\": \"DELETE\",\n  \"object\": { \"kind\" : \"Pod\", \"a\" : [ 1 , 2 ] }\n}\n", "u-2")], in: directory)
            #expect(try onlyRecord(in: directory).root.at("request")?.rawText == #"{"uid":"u-2","operation":"DELETE","object":{"kind":"Pod"}}"#)
        }
    }

    @Test("records are private: files 0600, a created directory 0700")
    func permissions() async throws {
        try await withTemporaryDirectory { parent in
            let directory = parent + "/a/b/records/"
            try await recordAll([(podReview, "u")], in: directory)
            var info = stat()
            #expect(stat(parent + "/a/b/records", &info) == 0)
            #expect(info.st_mode & 0o777 == 0o700)
            let name = try onlyRecord(in: directory).name
            #expect(stat(parent + "/a/b/records/" + name, &info) == 0)
            #expect(info.st_mode & 0o777 == 0o600)
        }
    }

    @Test("uids become safe file name parts", arguments: [
        ("705ab4f5-6393-11e8-b7cc-42010a800002", "705ab4f5-6393-11e8-b7cc-42010a800002"),
        ("../../etc/passwd", "------etc-passwd"),
        ("a b\u{0}é", "a-b---"),
        ("", "no-uid"),
        (String(repeating: "x", count: 300), String(repeating: "x", count: 64)),
    ])
    func sanitizedUID(uid: String, expected: String) {
        #expect(ReviewRecord.sanitizedUID(uid) == expected)
    }

    @Test("file names hold the UTC receive time with microseconds")
    func fileNameStamp() {
        #expect(RecordTime(seconds: 1_795_933_800, microseconds: 123_456).fileNameStamp == "20261129T063000.123456")
        #expect(RecordTime(seconds: 0, microseconds: 7).fileNameStamp == "19700101T000000.000007")
    }
}

@Suite("Review recorder: bounds and failures")
struct ReviewRecorderBoundsTests {
    @Test("50 records with maximumFiles 10 leave exactly the 10 newest")
    func countLimit() async throws {
        try await withTemporaryDirectory { directory in
            let reviews = (0..<50).map { i in (podReview.replacing("705ab4f5-6393-11e8-b7cc-42010a800002", with: "uid-\(i)"), "uid-\(i)") }
            let recorder = try await recordAll(reviews, in: directory, limits: RecorderLimits(maximumFiles: 10))
            #expect(recorder.writtenCount == 50)
            #expect(try recordedUIDs(in: directory) == (40..<50).map { "uid-\($0)" })
            #expect(try directoryNames(directory).allSatisfy { !$0.hasPrefix(".tmp-") })
        }
    }

    @Test("the byte limit is respected, oldest first out")
    func byteLimit() async throws {
        try await withTemporaryDirectory { directory in
            let reviews = (0..<20).map { i in (podReview.replacing("705ab4f5-6393-11e8-b7cc-42010a800002", with: "uid-\(i + 10)"), "uid-\(i + 10)") }
            let oneFile = try ReviewRecord.encode(body: Array(reviews[0].0.utf8), responseJSON: Array(allowedResponse.utf8)).count
            // Room for three and a half records.
            let limit = oneFile * 7 / 2
            let recorder = try await recordAll(reviews, in: directory, limits: RecorderLimits(maximumBytes: limit))
            #expect(recorder.writtenCount == 20)
            let names = try directoryNames(directory)
            let total = try names.reduce(0) { $0 + (try readBytes(directory + "/" + $1)).count }
            #expect(total <= limit)
            #expect(try recordedUIDs(in: directory) == ["uid-27", "uid-28", "uid-29"])
        }
    }

    @Test("a full queue drops and counts records without blocking")
    func queueOverflow() async throws {
        try await withTemporaryDirectory { directory in
            let recorder = try ReviewRecorder(directory: directory, limits: RecorderLimits(queueDepth: 2), logger: quietLogger)
            let started = ContinuousClock.now
            for i in 0..<5 { recorder.record(body: Array(podReview.utf8), responseJSON: Array(allowedResponse.utf8), uid: "uid-\(i)") }
            #expect(ContinuousClock.now - started < .seconds(1))
            #expect(recorder.droppedCount == 3)
            #expect(recorder.writtenCount == 0)
            #expect(try directoryNames(directory).isEmpty, "record must not write; run does")
            recorder.finish()
            // After finish, records are dropped too.
            recorder.record(body: Array(podReview.utf8), responseJSON: Array(allowedResponse.utf8), uid: "late")
            #expect(recorder.droppedCount == 4)
            await recorder.run()
            #expect(recorder.writtenCount == 2)
            #expect(try directoryNames(directory).count == 2)
        }
    }

    @Test("the queue is bounded in bytes too (queueBytes, 16 MiB by default)")
    func queueBytes() async throws {
        #expect(RecorderLimits().queueBytes == 16 << 20)
        try await withTemporaryDirectory { directory in
            let size = podReview.utf8.count + allowedResponse.utf8.count
            let recorder = try ReviewRecorder(directory: directory, limits: RecorderLimits(queueBytes: size * 5 / 2), logger: quietLogger)
            for i in 0..<4 { recorder.record(body: Array(podReview.utf8), responseJSON: Array(allowedResponse.utf8), uid: "uid-\(i)") }
            #expect(recorder.droppedCount == 2)
            #expect(recorder.queuedBytes == 2 * size)
            recorder.finish()
            await recorder.run()
            #expect(recorder.writtenCount == 2)
            try await eventually("the queue to be empty") { recorder.queuedBytes == 0 }
        }
    }

    @Test("queued records are charged to the budget, body and parse, until written; a record the budget refuses is dropped")
    func budgetCharged() async throws {
        try await withTemporaryDirectory { directory in
            let charge = ReviewRecord.encodingBytes(body: Array(podReview.utf8), response: Array(allowedResponse.utf8))
            #expect(charge > 3 * (podReview.utf8.count + allowedResponse.utf8.count), "the parse is charged too")
            let budget = TestBudget(limit: 2 * charge + charge / 2)
            let recorder = try ReviewRecorder(directory: directory, budget: budget.recorderBudget, logger: quietLogger)
            for i in 0..<3 { recorder.record(body: Array(podReview.utf8), responseJSON: Array(allowedResponse.utf8), uid: "uid-\(i)") }
            #expect(recorder.droppedCount == 1, "the third does not fit the budget")
            #expect(budget.used == 2 * charge)
            recorder.finish()
            await recorder.run()
            #expect(recorder.writtenCount == 2)
            try await eventually("everything given back") { budget.used == 0 }
            #expect(budget.peak == 2 * charge)
        }
    }

    @Test("records discarded by a cancelled writer give their bytes back")
    func cancelledWriterReleases() async throws {
        try await withTemporaryDirectory { directory in
            let budget = TestBudget(limit: 1 << 20)
            let recorder = try ReviewRecorder(directory: directory, budget: budget.recorderBudget, logger: quietLogger)
            for i in 0..<3 { recorder.record(body: Array(podReview.utf8), responseJSON: Array(allowedResponse.utf8), uid: "uid-\(i)") }
            #expect(budget.used > 0)
            let writer = Task { await recorder.run() }
            writer.cancel()
            await writer.value
            recorder.finish()
            try await eventually("the budget to be given back") { budget.used == 0 && recorder.queuedBytes == 0 }
        }
    }

    @Test("dropped records are reported by the writer")
    func dropsLogged() async throws {
        let log = CapturedLog()
        try await withTemporaryDirectory { directory in
            let recorder = try ReviewRecorder(directory: directory, limits: RecorderLimits(queueDepth: 1), logger: log.logger())
            for i in 0..<4 { recorder.record(body: Array(podReview.utf8), responseJSON: Array(allowedResponse.utf8), uid: "uid-\(i)") }
            recorder.finish()
            await recorder.run()
            let warnings = try log.records(level: "warning")
            #expect(warnings.count == 1)
            #expect(warnings.first?["droppedTotal"]?.string == "3")
        }
    }

    @Test("a restart indexes the files already there, so the limits hold across restarts")
    func restartIndexes() async throws {
        try await withTemporaryDirectory { directory in
            let first = (0..<5).map { i in (podReview.replacing("705ab4f5-6393-11e8-b7cc-42010a800002", with: "first-\(i)"), "first-\(i)") }
            try await recordAll(first, in: directory)
            // Not records: a dot file, another extension, a directory named like a record, and a stale temporary.
            try writeText("{}", to: directory + "/.hidden.json")
            try writeText("notes", to: directory + "/README.txt")
            #expect(mkdir(directory + "/sub.json", 0o700) == 0)
            try writeText("{\"partial", to: directory + "/.tmp-1-20200101T000000.000000-000001-x.json")

            let second = (0..<3).map { i in (podReview.replacing("705ab4f5-6393-11e8-b7cc-42010a800002", with: "second-\(i)"), "second-\(i)") }
            try await recordAll(second, in: directory, limits: RecorderLimits(maximumFiles: 6))
            let names = try directoryNames(directory)
            #expect(!names.contains { $0.hasPrefix(".tmp-") }, "stale temporary files are removed at start")
            #expect(names.contains(".hidden.json") && names.contains("README.txt") && names.contains("sub.json"))
            let records = names.filter { !$0.hasPrefix(".") && $0.hasSuffix(".json") && $0 != "sub.json" }
            #expect(records.count == 6)
            #expect(try records.map { try JSONDocument(parsing: readBytes(directory + "/" + $0)).root.at("request", "uid")?.string }
                == ["first-2", "first-3", "first-4", "second-0", "second-1", "second-2"])
        }
    }

    @Test("lowered limits are applied at start")
    func trimAtStart() async throws {
        try await withTemporaryDirectory { directory in
            let reviews = (0..<5).map { i in (podReview.replacing("705ab4f5-6393-11e8-b7cc-42010a800002", with: "uid-\(i)"), "uid-\(i)") }
            try await recordAll(reviews, in: directory)
            _ = try ReviewRecorder(directory: directory, limits: RecorderLimits(maximumFiles: 2), logger: quietLogger)
            #expect(try recordedUIDs(in: directory) == ["uid-3", "uid-4"])
        }
    }

    @Test("a directory that cannot be created gives a clear error")
    func cannotCreate() async throws {
        try await withTemporaryDirectory { parent in
            try writeText("x", to: parent + "/file")
            let error = #expect(throws: RecorderError.self) {
                try ReviewRecorder(directory: parent + "/file/records", logger: quietLogger)
            }
            #expect(error?.kind == .createDirectory)
            #expect(error?.description == "cannot create record directory \(parent)/file/records: Not a directory")

            let notDirectory = #expect(throws: RecorderError.self) {
                try ReviewRecorder(directory: parent + "/file", logger: quietLogger)
            }
            #expect(notDirectory?.description == "record directory \(parent)/file exists but is not a directory")
        }
    }

    @Test("limits below 1 are refused")
    func invalidLimits() async throws {
        try await withTemporaryDirectory { directory in
            let error = #expect(throws: RecorderError.self) {
                try ReviewRecorder(directory: directory, limits: RecorderLimits(queueDepth: 0), logger: quietLogger)
            }
            #expect(error?.description == "invalid limits for record directory \(directory): queueDepth must be at least 1, got 0")
        }
    }

    @Test("write errors are logged with the path and reason, and the writer keeps going")
    func writeFailure() async throws {
        let log = CapturedLog()
        try await withTemporaryDirectory { parent in
            let directory = parent + "/records"
            let recorder = try ReviewRecorder(directory: directory, logger: log.logger())
            let writer = Task { await recorder.run() }
            #expect(rmdir(directory) == 0)
            recorder.record(body: Array(podReview.utf8), responseJSON: Array(allowedResponse.utf8), uid: "lost")
            try await eventually("the failed write") { recorder.failedCount == 1 }
            #expect(mkdir(directory, 0o700) == 0)
            recorder.record(body: Array(podReview.utf8), responseJSON: Array(allowedResponse.utf8), uid: "kept")
            recorder.finish()
            await writer.value
            #expect(recorder.writtenCount == 1)
            #expect(try directoryNames(directory).count == 1)
            #expect(try directoryNames(directory).first?.hasSuffix("-kept.json") == true)
            let errors = try log.records(level: "error")
            #expect(errors.count == 1)
            #expect(errors.first?["message"]?.string == "review recorder: cannot write record")
            #expect(errors.first?["path"]?.string?.hasPrefix(directory + "/.tmp-") == true)
            #expect(errors.first?["reason"]?.string == "No such file or directory")
        }
    }

    @Test("a body that is not a review is logged and skipped")
    func unparseable() async throws {
        let log = CapturedLog()
        try await withTemporaryDirectory { directory in
            let recorder = try ReviewRecorder(directory: directory, logger: log.logger())
            recorder.record(body: Array("{not json".utf8), responseJSON: Array(allowedResponse.utf8), uid: "bad-1")
            recorder.record(body: Array(#"{"kind":"Pod"}"#.utf8), responseJSON: Array(allowedResponse.utf8), uid: "bad-2")
            recorder.record(body: Array(podReview.utf8), responseJSON: Array("[1]".utf8), uid: "bad-3")
            recorder.record(body: Array(podReview.utf8), responseJSON: Array(allowedResponse.utf8), uid: "good")
            recorder.finish()
            await recorder.run()
            #expect(recorder.writtenCount == 1)
            #expect(recorder.failedCount == 3)
            let errors = try log.records(level: "error")
            #expect(errors.map { $0["uid"]?.string } == ["bad-1", "bad-2", "bad-3"])
            #expect(errors.first?["message"]?.string?.hasPrefix("review recorder: cannot record review: the review is not JSON: line 1") == true)
            #expect(try directoryNames(directory).count == 1)
        }
    }

    @Test("the writer runs concurrently with record and drains on finish")
    func concurrentWriter() async throws {
        try await withTemporaryDirectory { directory in
            let recorder = try ReviewRecorder(directory: directory, limits: RecorderLimits(maximumFiles: 1000, queueDepth: 1000), logger: quietLogger)
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await recorder.run() }
                await withTaskGroup(of: Void.self) { producers in
                    for p in 0..<4 {
                        producers.addTask {
                            for i in 0..<50 { recorder.record(body: Array(podReview.utf8), responseJSON: Array(allowedResponse.utf8), uid: "p\(p)-\(i)") }
                        }
                    }
                }
                recorder.finish()
            }
            #expect(recorder.writtenCount + recorder.droppedCount == 200)
            #expect(recorder.droppedCount == 0)
            let names = try directoryNames(directory)
            #expect(names.count == 200)
            #expect(Set(names).count == 200)
        }
    }
}
