import AdmissionModel
import JSON
import ReviewInput
import Testing

/// Go and the apiserver merge repeated members into one value, while we keep the last one whole:
/// a file with a repeated key could mean two objects, so it is refused, with its position.
@Suite("Duplicate keys in input files")
struct DuplicateKeyTests {
    /// A Pod whose first `spec` holds a root init container, and whose second `spec` does not.
    static let twoSpecs = """
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
         "spec": {"initContainers": [{"name": "root", "image": "busybox", "securityContext": {"runAsUser": 0}}]},
         "spec": {"securityContext": {"runAsNonRoot": true}, "containers": [{"name": "app", "image": "nginx"}]}}
        """

    @Test("a .json manifest with two spec members: one error at the second, nothing evaluated")
    func jsonFile() throws {
        try withTemporaryDirectory { directory in
            let file = try directory.write("pod.json", Self.twoSpecs)
            #expect(InputReader.read(paths: [file], as: .manifests) == [
                .error(InputError(file: file, line: 3, column: 2, reason: #"duplicate key "spec""#)),
            ])
            #expect(InputError(file: file, line: 3, column: 2, reason: #"duplicate key "spec""#).description == "\(file):3:2: duplicate key \"spec\"")
        }
    }

    @Test("deep in a review, and spelled with escapes: names compare after unescaping")
    func nestedAndEscaped() throws {
        try withTemporaryDirectory { directory in
            let text = #"{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"uid":"u","operation":"CREATE","# +
                #""object":{"kind":"Pod","spec":{"containers":[{"name":"a","image":"x","im\u0061ge":"y"}]}}}}"#
            let file = try directory.write("review.json", text)
            let offset = try #require(text.utf8.firstRange(of: #""im\u0061ge""#.utf8)).lowerBound
            let column = text.utf8.distance(from: text.utf8.startIndex, to: offset) + 1
            #expect(InputReader.read(paths: [file], as: .reviews) == [
                .error(InputError(file: file, line: 1, column: column, reason: #"duplicate key "image""#)),
            ])
        }
    }

    @Test("the earliest repeat in the file is reported, even when an outer object repeats later")
    func earliest() throws {
        let document = try JSONDocument(parsing: #"{"a":{"x":1,"y":2,"x":3},"a":4}"#)
        let error = try #require(document.firstDuplicateKey())
        #expect([error.offset, error.line, error.column] == [18, 1, 19])
        #expect(error.reason == #"duplicate key "x""#)
    }

    @Test("objects beyond eight members use a set; distinct names pass; huge names are cut in the message")
    func largeObjects() throws {
        let distinct = "{" + (0..<1000).map { "\"k\($0)\":\($0)" }.joined(separator: ",") + "}"
        #expect(try JSONDocument(parsing: distinct).firstDuplicateKey() == nil)
        let repeated = "{" + (0..<1000).map { "\"k\($0)\":\($0)" }.joined(separator: ",") + ",\"k500\":0}"
        #expect(try JSONDocument(parsing: repeated).firstDuplicateKey()?.reason == #"duplicate key "k500""#)
        let long = String(repeating: "n", count: 100)
        let error = try #require(try JSONDocument(parsing: "{\"\(long)\":1,\"\(long)\":2}").firstDuplicateKey())
        #expect(error.reason == "duplicate key \"\(String(repeating: "n", count: 64))…\"")
        // Same text in different objects, and in arrays, is no repeat.
        #expect(try JSONDocument(parsing: #"[{"a":1},{"a":2},{"b":{"a":3}}]"#).firstDuplicateKey() == nil)
    }

    @Test("linear: 300,000 members in one object and 100,000 small objects are checked in well under a second each")
    func linear() throws {
        let wide = "{" + (0..<300_000).map { "\"k\($0)\":0" }.joined(separator: ",") + "}"
        let many = "[" + (0..<100_000).map { _ in "{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,\"h\":8}" }.joined(separator: ",") + "]"
        for text in [wide, many] {
            let document = try JSONDocument(parsing: text)
            let clock = ContinuousClock()
            let elapsed = clock.measure { #expect(document.firstDuplicateKey() == nil) }
            // Pairwise comparison of the wide object alone would be 4.5e10 steps.
            #expect(elapsed < .seconds(2), "\(elapsed)")
        }
    }

    @Test("JSON Lines and audit logs: the line with a repeat is an error at its line, the others are read")
    func jsonLinesAndAudit() throws {
        try withTemporaryDirectory { directory in
            let good = review(uid: "l1")
            let bad = #"{"uid":"l2","operation":"CREATE","uid":"l3"}"#
            let file = try directory.write("reviews.jsonl", "\(good)\n\(bad)\n")
            #expect(InputReader.read(paths: [file], as: .reviews) == [
                .document(InputDocument(source: file + "#1", bytes: bytes(good))),
                .error(InputError(file: file, line: 2, column: 34, reason: #"duplicate key "uid""#)),
            ])

            let event = #"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a1","stage":"ResponseComplete","verb":"create","# +
                #""objectRef":{"resource":"pods","namespace":"shop","name":"p","apiVersion":"v1"},"user":{"username":"alice"},"# +
                #""responseObject":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p"},"spec":{"containers":[],"containers":[]}}}"#
            let log = try directory.write("audit.log", event + "\n")
            let offset = try #require(event.utf8.ranges(of: #""containers""#.utf8).last).lowerBound
            #expect(InputReader.read(paths: [log], as: .reviews) == [
                .error(InputError(file: log, line: 1, column: event.utf8.distance(from: event.utf8.startIndex, to: offset) + 1, reason: #"duplicate key "containers""#)),
            ])
        }
    }

    @Test("concatenated values: the position is in the file, not in the value")
    func sequence() throws {
        try withTemporaryDirectory { directory in
            let file = try directory.write("seq.json", "{\n  \"uid\": \"a\", \"operation\": \"CREATE\"\n}\n{\n  \"uid\": \"b\",\n  \"uid\": \"c\"\n}\n")
            let items = InputReader.read(paths: [file], as: .reviews)
            #expect(items.count == 2)
            #expect(items.last == .error(InputError(file: file, line: 6, column: 3, reason: #"duplicate key "uid""#)))
        }
    }

    @Test("YAML: a repeat is refused by the parser; keys of different tags that become one JSON name are refused too")
    func yaml() throws {
        try withTemporaryDirectory { directory in
            let json = try directory.write("pod.yaml", Self.twoSpecs)
            #expect(InputReader.read(paths: [json], as: .manifests) == [
                .error(InputError(file: json, line: 3, column: 2, reason: #"duplicate key "spec""#)),
            ])
            let tags = try directory.write("tags.yaml", "apiVersion: v1\nkind: ConfigMap\ndata:\n  1: a\n  '1': b\n")
            #expect(InputReader.read(paths: [tags], as: .manifests) == [
                .error(InputError(file: tags, line: 1, column: 1, reason: #"cannot use this YAML document: duplicate key "1""#)),
            ])
        }
    }
}

@Suite("Known kinds under apiVersions Kubernetes does not serve")
struct UnservedAPIVersionTests {
    @Test("check: a v1 Deployment, an apps/v1 Pod and an extensions/v1beta1 DaemonSet are errors naming the expected apiVersion")
    func refused() throws {
        try withTemporaryDirectory { directory in
            let file = try directory.write("typos.yaml", """
                apiVersion: v1
                kind: Deployment
                metadata: {name: a}
                ---
                apiVersion: apps/v1
                kind: Pod
                metadata: {name: b}
                ---
                apiVersion: extensions/v1beta1
                kind: DaemonSet
                metadata: {name: c}
                ---
                apiVersion: batch/v1
                kind: CronJob
                metadata: {name: d}
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: e}
                """)
            let items = InputReader.read(paths: [file], as: .manifests)
            #expect(items.count == 5)
            #expect(Array(items.prefix(3)) == [
                .error(InputError(file: file, document: 1, reason: #"kind Deployment has apiVersion "v1", which Kubernetes does not serve; expected apps/v1"#)),
                .error(InputError(file: file, document: 2, reason: #"kind Pod has apiVersion "apps/v1", which Kubernetes does not serve; expected v1"#)),
                .error(InputError(file: file, document: 3, reason: #"kind DaemonSet has apiVersion "extensions/v1beta1", which Kubernetes does not serve; expected apps/v1"#)),
            ])
            #expect(items[3].document?.source == file + "#4")
            #expect(items[4].document?.source == file + "#5", "kinds without a pod spec are not judged by apiVersion")
        }
    }
}
