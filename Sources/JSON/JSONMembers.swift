extension JSONValue {
    /// Calls `body` with the name and value of each member of an object, in document order, duplicates
    /// included; never when this is not an object.
    ///
    /// A decoder reads every field it wants in one walk over the object, matching names with `switch`:
    ///
    ///     json.forEachMember { name, value in
    ///         switch name {
    ///         case "name": nameValue = value
    ///         case "image": imageValue = value
    ///         default: break
    ///         }
    ///     }
    ///
    /// That costs one length comparison per member and field, where a subscript per field walks the
    /// whole object once per field. Assigning as members come keeps the last of duplicate names, as
    /// `self[key]` does.
    @inlinable
    public func forEachMember(_ body: (_ name: JSONMemberName, _ value: JSONValue) -> Void) {
        let node = self.node
        guard node.kind == .object else { return }
        let end = Int(node.next)
        let document = self.document
        document.bytes.withUnsafeBufferPointer { text in
            document.nodes.withUnsafeBufferPointer { nodes in
                var key = index + 1
                while key < end {
                    body(JSONMemberName(text: text, node: nodes[key]), JSONValue(document: document, index: key + 1))
                    key = Int(nodes[key + 1].next)
                }
            }
        }
    }
}

/// A member's name inside `JSONValue.forEachMember` (valid only there), compared with a `StaticString`
/// byte for byte after unescaping, as `JSONValue`'s subscript compares: no Unicode normalization, so
/// `"\u212Aind"` is not `"Kind"`.
public struct JSONMemberName {
    @usableFromInline let text: UnsafeBufferPointer<UInt8>
    @usableFromInline let node: JSONNode

    @inlinable
    init(text: UnsafeBufferPointer<UInt8>, node: JSONNode) {
        self.text = text
        self.node = node
    }

    /// The name, decoded.
    public var string: String { JSONValue.decodeString(text, node) }

    @inlinable
    public static func ~= (pattern: StaticString, name: JSONMemberName) -> Bool {
        name == pattern
    }

    @inlinable
    public static func == (name: JSONMemberName, literal: StaticString) -> Bool {
        literal.withUTF8Buffer { JSONValue.keyEquals(name.text, name.node, $0) }
    }
}
