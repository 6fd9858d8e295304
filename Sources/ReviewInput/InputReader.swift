import AdmissionModel

/// Reads the files and directories given to `replay` and `check` into reviews to evaluate.
///
/// - Paths are read in the order given. A directory is walked recursively; its files are read in
///   byte-wise order of their paths; hidden files and directories (name starting with `.`) are
///   left out, and so are symbolic links to directories (with a note). In a directory only
///   `.json`, `.jsonl`, `.ndjson`, `.yaml`, `.yml` and `.log` files are read, each other file
///   yields a note. A path given explicitly is always read: by its extension, or else by its first
///   non-blank byte (`{` or `[`: JSON, otherwise YAML). `-` reads standard input (labelled `<stdin>`).
/// - `.json`: one value (a top-level array: each element), falling back to JSON Lines, or to
///   concatenated values, when data follows the first value. `.jsonl`, `.ndjson`, `.log`: JSON Lines.
///   `.yaml`, `.yml`: multi-document YAML, converted to JSON (empty documents are skipped).
/// - JSON documents are passed through byte for byte; see `DocumentCollector` for how documents
///   are classified, converted and numbered.
/// - Errors never stop the reading of other documents or files; nothing here traps on bad input.
public enum InputReader {
    /// Files larger than this are refused without being read.
    public static let maximumFileSize = 256 << 20

    /// The extensions read when walking a directory.
    static let extensions: Set<String> = ["json", "jsonl", "ndjson", "yaml", "yml", "log"]

    /// The label of standard input.
    static let standardInputLabel = "<stdin>"

    /// Reads `paths` (files, directories, or `-` for standard input), in order.
    public static func read(paths: [String], as kind: InputKind) -> [InputItem] {
        var items: [InputItem] = []
        for path in paths {
            if path == "-" {
                items += readFile(nil, label: standardInputLabel, as: kind)
                continue
            }
            let status: FileSystem.Status
            do {
                status = try FileSystem.status(path, followLinks: true)
            } catch {
                items.append(.error(InputError(file: path, reason: error.reason)))
                continue
            }
            if status.type == .directory {
                items += readDirectory(path, as: kind)
            } else {
                items += readFile(path, label: path, as: kind)
            }
        }
        return items
    }

    // MARK: - Directories

    private enum Found {
        case file(String)
        case note(String)
        case error(InputError)
    }

    private static func readDirectory(_ root: String, as kind: InputKind) -> [InputItem] {
        var found: [(path: String, what: Found)] = []
        walk(root, into: &found)
        found.sort { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
        var items: [InputItem] = []
        for (_, what) in found {
            switch what {
            case .file(let path): items += readFile(path, label: path, as: kind)
            case .note(let note): items.append(.note(note))
            case .error(let error): items.append(.error(error))
            }
        }
        return items
    }

    /// Collects the files under `directory` (unsorted); an explicit stack, so depth costs no stack.
    private static func walk(_ directory: String, into found: inout [(path: String, what: Found)]) {
        var stack = [directory]
        while let current = stack.popLast() {
            let names: [String]
            do {
                names = try FileSystem.contentsOfDirectory(current)
            } catch {
                found.append((current, .error(InputError(file: current, reason: error.reason))))
                continue
            }
            for name in names where !name.hasPrefix(".") {
                let path = current.hasSuffix("/") ? current + name : current + "/" + name
                let entry: FileSystem.Status
                do {
                    entry = try FileSystem.status(path, followLinks: false)
                } catch {
                    found.append((path, .error(InputError(file: path, reason: error.reason))))
                    continue
                }
                switch entry.type {
                case .directory:
                    stack.append(path)
                case .regular:
                    found.append((path, fileOrNote(path)))
                case .symbolicLink:
                    switch (try? FileSystem.status(path, followLinks: true))?.type {
                    case .directory?:
                        found.append((path, .note("skipping \(path): a symbolic link to a directory")))
                    case .regular?:
                        found.append((path, fileOrNote(path)))
                    case nil:
                        found.append((path, .note("skipping \(path): a broken symbolic link")))
                    default:
                        found.append((path, .note("skipping \(path): not a regular file")))
                    }
                case .other:
                    found.append((path, .note("skipping \(path): not a regular file")))
                }
            }
        }
    }

    private static func fileOrNote(_ path: String) -> Found {
        if extensions.contains(fileExtension(path)) { return .file(path) }
        return .note("skipping \(path): not a .json, .jsonl, .ndjson, .yaml, .yml or .log file")
    }

    /// The lower-cased extension of the last path component, or "".
    static func fileExtension(_ path: String) -> String {
        let name = path.split(separator: "/", omittingEmptySubsequences: false).last ?? ""
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return "" }
        return name[name.index(after: dot)...].lowercased()
    }

    // MARK: - Files

    private enum Format {
        case json, jsonLines, yaml
    }

    private static func readFile(_ path: String?, label: String, as kind: InputKind) -> [InputItem] {
        let bytes: [UInt8]
        do {
            bytes = try FileSystem.read(path, limit: maximumFileSize)
        } catch {
            return [.error(InputError(file: label, reason: error.reason))]
        }
        return read(bytes: bytes, label: label, fileExtension: path.map(fileExtension) ?? "", as: kind)
    }

    /// Reads the contents of one file, already in memory, exactly as `read(paths:as:)` reads a file
    /// named `label` whose extension is `fileExtension` (lower-case, without the dot; "" chooses
    /// the format by the first non-blank byte, as for standard input). For embedding and fuzzing.
    public static func read(bytes: [UInt8], label: String, fileExtension: String, as kind: InputKind) -> [InputItem] {
        var collector = DocumentCollector(file: label, kind: kind)
        if bytes.count >= 2, bytes[0] == 0x1F, bytes[1] == 0x8B {
            collector.stop(line: nil, column: nil, reason: "gzip-compressed: decompress it first (e.g. with zcat)")
            return collector.finish()
        }
        switch format(of: fileExtension, bytes: bytes) {
        case .json:
            JSONInput.readJSON(bytes, into: &collector)
        case .jsonLines:
            JSONInput.readLines(bytes, into: &collector)
        case .yaml:
            // JSON is YAML too, but read as JSON its bytes go through unchanged.
            switch startsLikeJSON(bytes) ? JSONInput.parse(bytes) : nil {
            case .success(let whole)?:
                collector.add(whole.root)
            case .failure(.duplicateKey(let error))?:
                collector.stop(line: error.line, column: error.column, reason: error.reason)
            case .failure(.invalid)?, nil:
                YAMLInput.read(bytes, into: &collector)
            }
        }
        return collector.finish()
    }

    private static func format(of fileExtension: String, bytes: [UInt8]) -> Format {
        switch fileExtension {
        case "json": .json
        case "jsonl", "ndjson", "log": .jsonLines
        case "yaml", "yml": .yaml
        default: startsLikeJSON(bytes) ? .json : .yaml
        }
    }

    /// The first non-blank byte (after a byte order mark) is `{` or `[`.
    private static func startsLikeJSON(_ bytes: [UInt8]) -> Bool {
        let start = JSONInput.skipSpace(bytes, from: 0)
        guard start < bytes.count else { return false }
        return bytes[start] == UInt8(ascii: "{") || bytes[start] == UInt8(ascii: "[")
    }
}
