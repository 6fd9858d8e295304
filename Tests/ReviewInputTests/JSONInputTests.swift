import AdmissionModel
import ReviewInput
import Testing

@Suite("JSON, JSON Lines and JSON sequences")
struct JSONInputTests {
    @Test("a single AdmissionReview in a .json file passes through byte for byte, labelled FILE")
    func singleReview() throws {
        try withTemporaryDirectory { directory in
            // Pretty-printed, with a trailing newline: the document is the value's own text.
            let text = """
                {
                  "apiVersion": "admission.k8s.io/v1",
                  "kind": "AdmissionReview",
                  "request": {"uid": "r-1", "operation": "CREATE", "object": {"kind": "Pod"}}
                }
                """
            let file = try directory.write("deny.json", text + "\n")
            let items = InputReader.read(paths: [file], as: .reviews)
            #expect(items == [.document(InputDocument(source: file, bytes: bytes(text)))])
        }
    }

    @Test("a bare AdmissionRequest passes through")
    func bareRequest() throws {
        try withTemporaryDirectory { directory in
            let text = #"{"uid":"b-1","operation":"CREATE","kind":{"group":"","version":"v1","kind":"Pod"},"object":{"kind":"Pod","apiVersion":"v1"}}"#
            let file = try directory.write("bare.json", text)
            let items = InputReader.read(paths: [file], as: .reviews)
            #expect(items == [.document(InputDocument(source: file, bytes: bytes(text)))])
            // Accepted by `check` as well.
            #expect(InputReader.read(paths: [file], as: .manifests) == items)
        }
    }

    @Test("a top-level JSON array: each element is a document, FILE#1 and FILE#2")
    func arrayOfReviews() throws {
        try withTemporaryDirectory { directory in
            let first = review(uid: "one")
            let second = review(uid: "two", user: 0)
            let file = try directory.write("two.json", "[\n  \(first),\n  \(second)\n]\n")
            let items = InputReader.read(paths: [file], as: .reviews)
            #expect(items == [
                .document(InputDocument(source: file + "#1", bytes: bytes(first))),
                .document(InputDocument(source: file + "#2", bytes: bytes(second))),
            ])
            let uid = try documents(items)[1].parsed().root["request"]?["uid"]?.string
            #expect(uid == "two")
        }
    }

    @Test("JSON Lines: a bad middle line is an error at its line and column; the others are read")
    func jsonLinesWithBadLine() throws {
        try withTemporaryDirectory { directory in
            let good1 = review(uid: "l1")
            let bad = #"{"uid":"l2",}"#
            let good3 = review(uid: "l3")
            let file = try directory.write("reviews.jsonl", "\(good1)\n\(bad)\r\n\n\(good3)\n")
            let items = InputReader.read(paths: [file], as: .reviews)
            #expect(items == [
                .document(InputDocument(source: file + "#1", bytes: bytes(good1))),
                .error(InputError(file: file, line: 2, column: 13, reason: "invalid JSON: unexpected character '}', expected a string key")),
                .document(InputDocument(source: file + "#3", bytes: bytes(good3))),
            ])
            #expect(items[1].error?.description == "\(file):2:13: invalid JSON: unexpected character '}', expected a string key")
        }
    }

    @Test(".ndjson and .log are JSON Lines too; blank lines are ignored")
    func otherJSONLinesExtensions() throws {
        try withTemporaryDirectory { directory in
            let a = review(uid: "a")
            let b = review(uid: "b")
            for name in ["x.ndjson", "x.log", "x.JSONL"] {
                let file = try directory.write(name, "\n\(a)\n   \n\(b)")
                #expect(InputReader.read(paths: [file], as: .reviews) == [
                    .document(InputDocument(source: file + "#1", bytes: bytes(a))),
                    .document(InputDocument(source: file + "#2", bytes: bytes(b))),
                ])
            }
        }
    }

    @Test("a .json file with data after the first value falls back to JSON Lines")
    func jsonFallsBackToLines() throws {
        try withTemporaryDirectory { directory in
            let a = review(uid: "a")
            let b = review(uid: "b")
            let file = try directory.write("lines.json", "\(a)\n\(b)\n{broken\n")
            let items = InputReader.read(paths: [file], as: .reviews)
            #expect(items.count == 3)
            #expect(items[0] == .document(InputDocument(source: file + "#1", bytes: bytes(a))))
            #expect(items[1] == .document(InputDocument(source: file + "#2", bytes: bytes(b))))
            #expect(items[2].error?.line == 3)
            #expect(items[2].error?.column == 2)
        }
    }

    @Test("a .json file with pretty-printed values one after another (kubectl get -w -o json) is read value by value")
    func jsonTextSequence() throws {
        try withTemporaryDirectory { directory in
            let a = "{\n  \"uid\": \"a\",\n  \"operation\": \"CREATE\"\n}"
            let b = "{\n  \"uid\": \"b\", \"note\": \"} { [\\\" \",\n  \"operation\": \"UPDATE\"\n}"
            let c = "{\n  \"uid\": \"c\",\n  \"operation\": CREATE\n}"
            let file = try directory.write("watch.json", "\(a)\n\(b)\n\n\(c)\n")
            let items = InputReader.read(paths: [file], as: .reviews)
            #expect(items.count == 3)
            #expect(items[0] == .document(InputDocument(source: file + "#1", bytes: bytes(a))))
            #expect(items[1] == .document(InputDocument(source: file + "#2", bytes: bytes(b))))
            #expect(items[2].error?.line == 12)
            #expect(items[2].error?.column == 16)
            #expect(items.last?.error?.reason.hasPrefix("invalid JSON: ") == true)
        }
    }

    @Test("invalid JSON in a .json file is an error with line and column")
    func invalidJSON() throws {
        try withTemporaryDirectory { directory in
            let file = try directory.write("bad.json", "{\n  \"kind\": \"AdmissionReview\",\n  \"request\": tru\n}\n")
            let items = InputReader.read(paths: [file], as: .reviews)
            #expect(items.count == 1)
            let error = try #require(items.first?.error)
            #expect(error.file == file)
            #expect(error.line == 3)
            // At the newline where "tru" should have gone on as "true".
            #expect(error.column == 17)
            #expect(error.reason.hasPrefix("invalid JSON: "))
        }
    }

    @Test("an empty file yields a note, not a document")
    func emptyFile() throws {
        try withTemporaryDirectory { directory in
            let file = try directory.write("empty.json", "  \n")
            #expect(InputReader.read(paths: [file], as: .reviews) == [.note("\(file): no documents found")])
        }
    }

    @Test("a document that is not an object is an error naming it")
    func notAnObject() throws {
        try withTemporaryDirectory { directory in
            let file = try directory.write("scalars.jsonl", "\"text\"\n[1, \(review(uid: "x"))]\n")
            let items = InputReader.read(paths: [file], as: .reviews)
            #expect(items == [
                .error(InputError(file: file, document: 1, reason: "not an object (found a string)")),
                .error(InputError(file: file, document: 2, reason: "not an object (found a number)")),
                .document(InputDocument(source: file + "#3", bytes: bytes(review(uid: "x")))),
            ])
            #expect(items[0].error?.description == "\(file)#1: not an object (found a string)")
        }
    }

    @Test("replay refuses objects that are not reviews, naming their kind")
    func notAReview() throws {
        try withTemporaryDirectory { directory in
            let pod = #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web"}}"#
            let file = try directory.write("pod.json", pod)
            #expect(InputReader.read(paths: [file], as: .reviews) == [
                .error(InputError(file: file, reason: "not an AdmissionReview, AdmissionRequest or audit Event (kind \"Pod\")")),
            ])
            let other = try directory.write("other.jsonl", "{\"a\":1}\n{\"b\":2}\n")
            #expect(InputReader.read(paths: [other], as: .reviews) == [
                .error(InputError(file: other, document: 1, reason: "not an AdmissionReview, AdmissionRequest or audit Event (no kind)")),
                .error(InputError(file: other, document: 2, reason: "not an AdmissionReview, AdmissionRequest or audit Event (no kind)")),
            ])
        }
    }

    @Test("100,000 JSON Lines are read in linear time")
    func largeJSONLines() throws {
        try withTemporaryDirectory { directory in
            let line = review(uid: "same")
            var text = ""
            text.reserveCapacity((line.utf8.count + 1) * 100_000)
            for _ in 0..<100_000 {
                text += line
                text += "\n"
            }
            let file = try directory.write("big.jsonl", text)
            let clock = ContinuousClock()
            var items: [InputItem] = []
            let elapsed = clock.measure { items = InputReader.read(paths: [file], as: .reviews) }
            #expect(items.count == 100_000)
            #expect(items.last == .document(InputDocument(source: file + "#100000", bytes: bytes(line))))
            // A quadratic reader would take minutes; this allows a slow debug build on a busy machine.
            #expect(elapsed < .seconds(60))
        }
    }
}
