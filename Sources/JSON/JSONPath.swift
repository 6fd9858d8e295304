extension JSONValue {
    /// The JSON path from the document root to this value. Computed only for error messages.
    public var path: String {
        var components = ""
        var current = 0
        let nodes = document.nodes
        while current != index {
            let container = nodes[current]
            var child = current + 1
            var position = 0
            var descended = false
            while child < Int(container.next) {
                let valueIndex = container.kind == .object ? child + 1 : child
                let after = Int(nodes[valueIndex].next)
                if index >= (container.kind == .object ? child : valueIndex) && index < after {
                    if container.kind == .object {
                        let key = JSONValue(document: document, index: child).string ?? ""
                        components += components.isEmpty ? key : ".\(key)"
                        // A key string itself is not a value worth naming further.
                        if index == child { return components }
                    } else {
                        components += "[\(position)]"
                    }
                    current = valueIndex
                    descended = true
                    break
                }
                child = after
                position += 1
            }
            if !descended { break }
        }
        return components
    }
}
