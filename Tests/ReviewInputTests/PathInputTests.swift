import ReviewInput
import Testing
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("Paths and directories")
struct PathInputTests {
    @Test("a directory is walked recursively in byte order of paths; hidden entries are left out; other files get a note")
    func directoryWalk() throws {
        try withTemporaryDirectory { directory in
            let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
            try directory.write("manifests/b.yaml", pod)
            try directory.write("manifests/a.json", #"{"apiVersion":"v1","kind":"Pod"}"#)
            try directory.write("manifests/README.md", "# docs\n")
            try directory.write("manifests/notes.txt", "text\n")
            try directory.write("manifests/.hidden.json", "{}")
            try directory.write("manifests/.git/config.json", "{}")
            try directory.write("manifests/sub/c.yml", pod)
            try directory.write("manifests/sub.json", #"{"apiVersion":"v1","kind":"Service"}"#)
            let root = directory.path + "/manifests"
            let items = InputReader.read(paths: [root], as: .manifests)
            let expected: [String] = [
                "note skipping \(root)/README.md: not a .json, .jsonl, .ndjson, .yaml, .yml or .log file",
                "document \(root)/a.json",
                "document \(root)/b.yaml",
                "note skipping \(root)/notes.txt: not a .json, .jsonl, .ndjson, .yaml, .yml or .log file",
                "document \(root)/sub.json",
                "document \(root)/sub/c.yml",
            ]
            #expect(items.map { item in
                switch item {
                case .document(let document): "document \(document.source)"
                case .note(let note): "note \(note)"
                case .error(let error): "error \(error)"
                }
            } == expected)

            // A trailing slash on the directory does not double it.
            #expect(InputReader.read(paths: [root + "/"], as: .manifests) == items)
        }
    }

    @Test("a path given explicitly is read whatever its extension, sniffing JSON or YAML")
    func explicitPaths() throws {
        try withTemporaryDirectory { directory in
            let json = review(uid: "t")
            let text = try directory.write("review.txt", json)
            let yaml = try directory.write("manifest", "apiVersion: v1\nkind: Pod\n")
            let hidden = try directory.write(".review.json", json)
            let items = InputReader.read(paths: [text, yaml, hidden], as: .manifests)
            #expect(items.count == 3)
            #expect(items[0] == .document(InputDocument(source: text, bytes: bytes(json))))
            #expect(items[1].document?.source == yaml)
            #expect(items[2] == .document(InputDocument(source: hidden, bytes: bytes(json))))
        }
    }

    @Test("a missing path is an error naming it; the other paths are still read")
    func missingPath() throws {
        try withTemporaryDirectory { directory in
            let missing = directory.path + "/nope.json"
            let present = try directory.write("ok.json", review(uid: "ok"))
            let items = InputReader.read(paths: [missing, present], as: .reviews)
            #expect(items == [
                .error(InputError(file: missing, reason: "no such file or directory")),
                .document(InputDocument(source: present, bytes: bytes(review(uid: "ok")))),
            ])
            #expect(items[0].error?.description == "\(missing): no such file or directory")
        }
    }

    @Test("a file larger than 256 MiB is refused without being read")
    func tooLarge() throws {
        try withTemporaryDirectory { directory in
            let file = try directory.write("huge.jsonl", "")
            // A sparse file: no disk space used, and nothing is read.
            #expect(truncate(file, off_t(InputReader.maximumFileSize + 1)) == 0)
            #expect(InputReader.read(paths: [file], as: .reviews) == [
                .error(InputError(file: file, reason: "file is larger than 256 MiB; split it into smaller files")),
            ])
        }
    }

    @Test("gzip-compressed input is recognised")
    func gzip() throws {
        try withTemporaryDirectory { directory in
            let file = try directory.write("audit.log.gz", bytes: [0x1F, 0x8B, 0x08, 0x00, 0x00])
            #expect(InputReader.read(paths: [file], as: .reviews) == [
                .error(InputError(file: file, reason: "gzip-compressed: decompress it first (e.g. with zcat)")),
            ])
        }
    }

    @Test("deeply nested input is an error, never a crash")
    func deepNesting() throws {
        try withTemporaryDirectory { directory in
            let json = try directory.write("deep.json", String(repeating: "[", count: 100_000))
            let jsonItems = InputReader.read(paths: [json], as: .reviews)
            #expect(jsonItems.count == 1)
            #expect(jsonItems.first?.error?.reason == "invalid JSON: nesting is deeper than 512 levels")

            // Deeper than libyaml allows.
            let tooDeep = try directory.write("too-deep.yaml", String(repeating: "[", count: 5_000))
            let tooDeepItems = InputReader.read(paths: [tooDeep], as: .manifests)
            #expect(tooDeepItems.count == 1)
            #expect(tooDeepItems.first?.error?.line == 1)

            // Fine for YAML, too deep for the JSON the webhook reads.
            let deep = try directory.write("deep.yaml", "kind: Pod\napiVersion: v1\nx: " + String(repeating: "[", count: 900) + String(repeating: "]", count: 900) + "\n")
            let deepItems = InputReader.read(paths: [deep], as: .manifests)
            #expect(deepItems == [
                .error(InputError(file: deep, line: 1, column: 1, reason: "cannot use this YAML document: nesting is deeper than 512 levels")),
            ])
        }
    }

    @Test("bytes in memory are read exactly as a file with that name and extension")
    func bytesInMemory() throws {
        try withTemporaryDirectory { directory in
            let contents: [(name: String, extension: String, text: String)] = [
                ("a.json", "json", "[" + review(uid: "a") + "," + review(uid: "b") + "]"),
                ("b.jsonl", "jsonl", review(uid: "c") + "\n{bad\n"),
                ("c.yaml", "yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n---\nkind: [\n"),
                ("d", "", "apiVersion: v1\nkind: Pod\n"),
            ]
            for (name, fileExtension, text) in contents {
                let path = try directory.write(name, text)
                for kind in [InputKind.reviews, .manifests] {
                    #expect(InputReader.read(bytes: bytes(text), label: path, fileExtension: fileExtension, as: kind)
                        == InputReader.read(paths: [path], as: kind), "\(name)")
                }
            }
        }
    }

    @Test("InputError descriptions")
    func errorDescriptions() {
        #expect(InputError(file: "a.yaml", line: 3, column: 7, reason: "bad").description == "a.yaml:3:7: bad")
        #expect(InputError(file: "a.yaml", line: 3, reason: "bad").description == "a.yaml:3: bad")
        #expect(InputError(file: "a.yaml", document: 2, reason: "bad").description == "a.yaml#2: bad")
        #expect(InputError(file: "a.yaml", reason: "bad").description == "a.yaml: bad")
    }
}
