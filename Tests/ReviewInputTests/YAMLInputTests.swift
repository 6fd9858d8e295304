import AdmissionModel
import ReviewInput
import Testing

@Suite("YAML")
struct YAMLInputTests {
    @Test("multi-document YAML: empty and comment-only documents are skipped and not numbered")
    func multiDocument() throws {
        try withTemporaryDirectory { directory in
            let file = try directory.write("reviews.yaml", """
                # leading comment
                ---
                ---
                # only a comment
                ---
                apiVersion: admission.k8s.io/v1
                kind: AdmissionReview
                request:
                  uid: y-1
                  operation: CREATE
                ---
                {apiVersion: admission.k8s.io/v1, kind: AdmissionReview, request: {uid: y-2, operation: UPDATE}}
                ...
                ---

                """)
            let items = InputReader.read(paths: [file], as: .reviews)
            #expect(items == [
                .document(InputDocument(source: file + "#1", bytes: bytes(#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"y-1","operation":"CREATE"}}"#))),
                .document(InputDocument(source: file + "#2", bytes: bytes(#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"y-2","operation":"UPDATE"}}"#))),
            ])
        }
    }

    @Test("scalars resolve as Kubernetes' YAML 1.1 reader does: `name: yes` becomes true")
    func scalarTypes() throws {
        try withTemporaryDirectory { directory in
            let file = try directory.write("pod.yml", """
                apiVersion: admission.k8s.io/v1
                kind: AdmissionReview
                request:
                  uid: s-1
                  operation: CREATE
                  object:
                    apiVersion: v1
                    kind: Pod
                    metadata:
                      name: yes
                    spec:
                      securityContext:
                        runAsUser: 1000
                        runAsNonRoot: true
                      containers:
                      - name: web
                        image: "nginx:1.27"
                """)
            let items = InputReader.read(paths: [file], as: .reviews)
            let document = try #require(items.first?.document)
            #expect(items.count == 1)
            #expect(document.source == file)
            let object = try #require(try document.parsed().root["request"]?["object"])
            #expect(object["spec"]?["securityContext"]?["runAsUser"]?.int64 == 1000)
            #expect(object["spec"]?["securityContext"]?["runAsNonRoot"]?.bool == true)
            #expect(object["spec"]?["containers"]?.elements.first?["image"]?.string == "nginx:1.27")
            // YAML 1.1, as Yams and Kubernetes read it: an unquoted yes is a boolean, not a name.
            #expect(object["metadata"]?["name"]?.bool == true)
            #expect(object["metadata"]?["name"]?.string == nil)
        }
    }

    @Test("every scalar kind converts to the JSON Kubernetes would see")
    func scalarConversion() throws {
        try withTemporaryDirectory { directory in
            let file = try directory.write("values.yaml", """
                apiVersion: v1
                kind: ConfigMap
                values: [x, "2", 3.50, .5, 1e3, 0x1F, 0755, -12, ~, null, .nan, -.inf, 2024-01-02, 1_000, 12345678901234567890, on, 'yes', No, !!str 5, "multi\\nline", '']
                empty:
                1: one
                block: |
                  line one
                  line two

                """)
            let items = InputReader.read(paths: [file], as: .manifests)
            let request = try #require(items.first?.document).parsed().root
            let object = try #require(request["object"])
            #expect(String(decoding: object.rawBytes, as: UTF8.self) == #"""
                {"apiVersion":"v1","kind":"ConfigMap","values":["x","2",3.50,0.5,1e3,31,493,-12,null,null,".nan","-.inf","2024-01-02",1000,12345678901234567890,true,"yes",false,"5","multi\nline",""],"empty":null,"1":"one","block":"line one\nline two\n"}
                """#)
        }
    }

    @Test("anchors, aliases and merge keys are resolved")
    func anchorsAndMergeKeys() throws {
        try withTemporaryDirectory { directory in
            let file = try directory.write("merge.yaml", """
                apiVersion: v1
                kind: ConfigMap
                metadata: &meta
                  name: base
                  labels: {app: web}
                data:
                  <<: {a: "1", b: "2"}
                  b: "3"
                other:
                  <<: [*meta, {name: ignored, extra: x}]
                  namespace: ns
                copy: *meta
                """)
            let items = InputReader.read(paths: [file], as: .manifests)
            let document = try #require(items.first?.document)
            let object = try #require(try document.parsed().root["object"])
            #expect(String(decoding: object.rawBytes, as: UTF8.self) == #"""
                {"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"base","labels":{"app":"web"}},"data":{"a":"1","b":"3"},"other":{"name":"base","labels":{"app":"web"},"extra":"x","namespace":"ns"},"copy":{"name":"base","labels":{"app":"web"}}}
                """#)
        }
    }

    @Test("an alias bomb ends in an error, quickly")
    func aliasBomb() throws {
        try withTemporaryDirectory { directory in
            var text = "apiVersion: v1\nkind: ConfigMap\na0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
            for level in 1...9 {
                let previous = "*a\(level - 1)"
                text += "a\(level): &a\(level) [\(Array(repeating: previous, count: 9).joined(separator: ", "))]\n"
            }
            let file = try directory.write("bomb.yaml", text)
            let items = InputReader.read(paths: [file], as: .manifests)
            #expect(items.count == 1)
            let error = try #require(items.first?.error)
            #expect(error.reason == "YAML document expands to more than 64 MiB of JSON (aliases?)")
            #expect(error.line != nil)
        }
    }

    @Test("a YAML syntax error is reported with line and column; documents before it are kept")
    func syntaxError() throws {
        try withTemporaryDirectory { directory in
            let file = try directory.write("broken.yaml", """
                uid: ok
                operation: CREATE
                ---
                metadata:
                  name: web
                  labels: a: b

                """)
            let items = InputReader.read(paths: [file], as: .reviews)
            #expect(items == [
                .document(InputDocument(source: file + "#1", bytes: bytes(#"{"uid":"ok","operation":"CREATE"}"#))),
                .error(InputError(file: file, line: 6, column: 12, reason: "invalid YAML: mapping values are not allowed in this context")),
            ])
            #expect(items[1].error?.description == "\(file):6:12: invalid YAML: mapping values are not allowed in this context")
        }
    }

    @Test("duplicate keys, non-scalar keys and invalid UTF-8 are errors with positions")
    func otherYAMLErrors() throws {
        try withTemporaryDirectory { directory in
            let duplicate = try directory.write("dup.yaml", "kind: Pod\napiVersion: v1\nkind: Service\n")
            let duplicateItems = InputReader.read(paths: [duplicate], as: .manifests)
            #expect(duplicateItems.count == 1)
            let duplicateError = try #require(duplicateItems.first?.error)
            #expect(duplicateError.reason == "invalid YAML: duplicate key \"kind\" in a mapping")
            #expect(duplicateError.line == 1)

            let complexKey = try directory.write("key.yaml", "kind: Pod\napiVersion: v1\n? [a, b]\n: c\n")
            let keyItems = InputReader.read(paths: [complexKey], as: .manifests)
            #expect(keyItems == [
                .error(InputError(file: complexKey, line: 3, column: 3, reason: "cannot use this YAML document: a mapping key must be a scalar, not a sequence")),
            ])

            let binary = try directory.write("latin1.yaml", bytes: Array("kind: Pod\nname: caf".utf8) + [0xE9, 0x0A])
            #expect(InputReader.read(paths: [binary], as: .manifests) == [
                .error(InputError(file: binary, line: 2, column: 10, reason: "not UTF-8 text: invalid byte 0xE9")),
            ])
        }
    }

    @Test("a .yaml file holding JSON is read as JSON, so its bytes pass through")
    func jsonInYAMLFile() throws {
        try withTemporaryDirectory { directory in
            let text = review(uid: "j")
            let file = try directory.write("review.yaml", "\n" + text + "\n")
            #expect(InputReader.read(paths: [file], as: .reviews) == [.document(InputDocument(source: file, bytes: bytes(text)))])
        }
    }
}
