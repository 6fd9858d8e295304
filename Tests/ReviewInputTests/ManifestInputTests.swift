import AdmissionModel
import ReviewInput
import Testing

@Suite("Manifests for check")
struct ManifestInputTests {
    @Test("a Deployment becomes a CREATE request carrying the object as written")
    func deployment() throws {
        try withTemporaryDirectory { directory in
            let deployment = #"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"shop"},"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.27"}]}}}}"#
            let file = try directory.write("deploy.json", deployment)
            let items = InputReader.read(paths: [file], as: .manifests)
            #expect(items == [.document(InputDocument(source: file, bytes: bytes(
                #"{"uid":"","kind":{"group":"apps","version":"v1","kind":"Deployment"},"resource":{"group":"apps","version":"v1","resource":"deployments"},"namespace":"shop","name":"web","operation":"CREATE","userInfo":{"username":"nonroot-admission-check"},"object":\#(deployment),"dryRun":false}"#
            )))])
            let request = try AdmissionReviewRequest.decode(try #require(items.first?.document).bytes)
            #expect(request.request.podSpecKind == .deployment)
            #expect(request.request.operation == "CREATE")
        }
    }

    @Test("a YAML Deployment: namespace defaults to default, the name may come from generateName")
    func yamlDeployment() throws {
        try withTemporaryDirectory { directory in
            let file = try directory.write("deploy.yaml", """
                apiVersion: apps/v1
                kind: Deployment
                metadata:
                  generateName: web-
                spec:
                  template:
                    spec:
                      securityContext: {runAsNonRoot: true}
                      containers:
                      - name: nginx
                        image: nginx:1.27
                """)
            let items = InputReader.read(paths: [file], as: .manifests)
            let root = try #require(items.first?.document).parsed().root
            #expect(items.count == 1)
            #expect(root["namespace"]?.string == "default")
            #expect(root["name"]?.string == "web-")
            #expect(root["resource"]?["resource"]?.string == "deployments")
            #expect(root["object"]?["spec"]?["template"]?["spec"]?["securityContext"]?["runAsNonRoot"]?.bool == true)
        }
    }

    @Test("a List's items are documents of their own; a Service is wrapped too")
    func list() throws {
        try withTemporaryDirectory { directory in
            let file = try directory.write("list.yaml", """
                apiVersion: v1
                kind: List
                items:
                - apiVersion: v1
                  kind: Pod
                  metadata: {name: api, namespace: shop}
                  spec:
                    containers: [{name: api, image: "api:2"}]
                - apiVersion: v1
                  kind: Service
                  metadata: {name: api}
                  spec: {ports: [{port: 80}]}
                """)
            let items = InputReader.read(paths: [file], as: .manifests)
            #expect(items.count == 2)
            #expect(items.map { $0.document?.source } == [file + "#1", file + "#2"])
            let pod = try #require(items[0].document).parsed().root
            #expect(pod["kind"]?["kind"]?.string == "Pod")
            #expect(pod["kind"]?["group"]?.string == "")
            #expect(pod["resource"]?["resource"]?.string == "pods")
            #expect(pod["namespace"]?.string == "shop")
            #expect(pod["name"]?.string == "api")
            #expect(String(decoding: try #require(pod["object"]).rawBytes, as: UTF8.self)
                == #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"api","namespace":"shop"},"spec":{"containers":[{"name":"api","image":"api:2"}]}}"#)
            let service = try #require(items[1].document).parsed().root
            #expect(service["kind"]?["kind"]?.string == "Service")
            #expect(service["resource"]?["resource"]?.string == "services")
            #expect(service["namespace"]?.string == "default")
        }
    }

    @Test("a document without kind or apiVersion is an error naming the document")
    func missingKind() throws {
        try withTemporaryDirectory { directory in
            let file = try directory.write("mixed.yaml", """
                apiVersion: v1
                kind: ConfigMap
                metadata: {name: ok}
                ---
                metadata: {name: no-kind}
                spec: {}
                ---
                kind: Pod
                """)
            let items = InputReader.read(paths: [file], as: .manifests)
            #expect(items.count == 3)
            #expect(items[0].document?.source == file + "#1")
            #expect(items[1] == .error(InputError(file: file, document: 2, reason: "not a Kubernetes object: missing kind/apiVersion")))
            #expect(items[1].error?.description == "\(file)#2: not a Kubernetes object: missing kind/apiVersion")
            #expect(items[2] == .error(InputError(file: file, document: 3, reason: "not a Kubernetes object: missing kind/apiVersion")))
        }
    }

    @Test("reviews and audit events are accepted by check as well")
    func reviewsInManifests() throws {
        try withTemporaryDirectory { directory in
            let text = review(uid: "m")
            let file = try directory.write("review.json", text)
            #expect(InputReader.read(paths: [file], as: .manifests) == [.document(InputDocument(source: file, bytes: bytes(text)))])
        }
    }
}
