// LibYAML through the YAML module, and the image catalog that is read with it. Never a crash or a
// trap; errors and nodes carry 1-based positions inside the input; the scalar conversions (int with
// base 60, double, bool) are total; the catalog either loads or names a reason and a plausible line.
import FuzzSupport
import ImageResolution
import YAML

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = fuzzInput(data, size)
    // LibYAML also breaks lines at \r, NEL, LS and PS, so bound by the byte count, not by "\n"s.
    let limit = bytes.count + 1
    let (documents, error) = YAMLParser.documents(in: bytes)
    if let error {
        require(!error.problem.isEmpty, "an error without a problem")
        if let mark = error.mark {
            require((1...limit).contains(mark.line) && (1...limit).contains(mark.column), "error at \(mark) in \(show(bytes))")
        }
        _ = error.description
    }
    for document in documents {
        // Each anchored node once: its aliases are copies, so an alias bomb stays cheap.
        var visited = Set<Int>()
        var pending = [document]
        while let node = pending.popLast() {
            require((1...limit).contains(node.mark.line) && (1...limit).contains(node.mark.column), "node at \(node.mark)")
            if let anchor = node.anchor, !visited.insert(anchor).inserted { continue }
            switch node.content {
            case .scalar(let text, let style):
                _ = (node.intValue, node.doubleValue, node.boolValue)
                if style != .plain { require(node.intValue == nil && node.doubleValue == nil, "a quoted scalar is a number: \(text)") }
            case .sequence(let elements):
                pending.append(contentsOf: elements)
            case .mapping(let pairs):
                for pair in pairs {
                    pending.append(pair.key)
                    pending.append(pair.value)
                }
            }
        }
    }
    if let text = String(validating: bytes, as: UTF8.self) {
        do {
            _ = try ImageCatalog.parse(text, source: "fuzz.yaml")
        } catch {
            require(!error.reason.isEmpty, "a catalog error without a reason")
            require(error.line.map { (1...limit).contains($0) } ?? true, "catalog error at line \(String(describing: error.line))")
            require(error.description.hasPrefix("fuzz.yaml"), "catalog error names \(error.description)")
        }
    }
    return 0
}
