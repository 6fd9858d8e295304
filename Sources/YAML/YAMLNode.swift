/// A position in YAML text, 1-based, as editors show it.
public struct YAMLMark: Sendable, Hashable {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }
}

/// How a scalar was written. Only plain scalars are resolved to null, bool, int or float.
public enum YAMLScalarStyle: Sendable, Hashable {
    case plain
    case singleQuoted
    case doubleQuoted
    case literal
    case folded
}

/// A node's tag after resolution: explicit (`!!int 5`) or implied by the node's kind and, for
/// plain scalars, by YAML 1.1's patterns (`yes` is a bool, `0755` an octal int).
public enum YAMLTag: Sendable, Hashable {
    case null
    case bool
    case int
    case float
    case merge
    case timestamp
    case value
    case str
    case sequence
    case mapping
    /// Any other tag by its full name, such as `tag:yaml.org,2002:binary` or a local `!config`.
    case other(String)
}

/// One node of a composed YAML document. Aliases are replaced by the node they name; the copies
/// share `anchor`, so a reader can convert an anchored node once and reuse the result.
public struct YAMLNode: Sendable {
    public enum Content: Sendable {
        case scalar(String, YAMLScalarStyle)
        case sequence([YAMLNode])
        case mapping([YAMLPair])
    }

    public var content: Content
    public var tag: YAMLTag
    public var mark: YAMLMark
    /// Equal for an anchored node and all its aliases within one document; nil when not anchored.
    public var anchor: Int?

    public init(content: Content, tag: YAMLTag, mark: YAMLMark, anchor: Int? = nil) {
        self.content = content
        self.tag = tag
        self.mark = mark
        self.anchor = anchor
    }

    /// The text and style of a scalar node.
    public var scalar: (text: String, style: YAMLScalarStyle)? {
        if case .scalar(let text, let style) = content { return (text, style) }
        return nil
    }

    /// The pairs of a mapping node, in document order.
    public var pairs: [YAMLPair]? {
        if case .mapping(let pairs) = content { return pairs }
        return nil
    }

    /// The elements of a sequence node.
    public var elements: [YAMLNode]? {
        if case .sequence(let elements) = content { return elements }
        return nil
    }

    /// The value of the first pair whose key is a scalar with this text.
    public subscript(key: String) -> YAMLNode? {
        pairs?.first { $0.key.scalar?.text == key }?.value
    }

    /// A plain scalar that resolves to null: empty, `~`, `null`, `Null` or `NULL`.
    public var isNull: Bool { tag == .null }
}

/// A key and its value in a mapping.
public struct YAMLPair: Sendable {
    public var key: YAMLNode
    public var value: YAMLNode

    public init(key: YAMLNode, value: YAMLNode) {
        self.key = key
        self.value = value
    }
}

/// Why YAML text cannot be read, and where.
public struct YAMLError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What the parser was doing, and where: "while parsing a block mapping" at 3:1.
    public struct Context: Sendable, Hashable {
        public var text: String
        public var mark: YAMLMark

        public init(text: String, mark: YAMLMark) {
            self.text = text
            self.mark = mark
        }
    }

    public var mark: YAMLMark?
    /// What is wrong, with LibYAML's wording, e.g. "mapping values are not allowed in this context".
    public var problem: String
    public var context: Context?

    public init(mark: YAMLMark?, problem: String, context: Context? = nil) {
        self.mark = mark
        self.problem = problem
        self.context = context
    }

    /// `problem (context at line L, column C)`.
    public var description: String {
        guard let context else { return problem }
        return "\(problem) (\(context.text) at line \(context.mark.line), column \(context.mark.column))"
    }
}
