import JSON

/// A JSON document that parsed but does not have the shape of the Kubernetes type expected.
public struct ModelDecodingError: Error, Sendable, CustomStringConvertible {
    /// Where the problem is, as a JSON path such as `request.object.spec.containers[0].image`.
    public var path: String
    public var reason: String
    /// Byte offset of the offending value in the document.
    public var offset: Int

    public init(path: String, reason: String, offset: Int) {
        self.path = path
        self.reason = reason
        self.offset = offset
    }

    init(at value: JSONValue, _ reason: String) {
        self.init(path: value.path, reason: reason, offset: value.offset)
    }

    public var description: String { path.isEmpty ? reason : "\(path): \(reason)" }
}

extension JSONValue {
    /// The member `key` when present and not null, which must be an object.
    func object(_ key: StaticString) throws(ModelDecodingError) -> JSONValue? { try self[key].objectField() }

    /// The member `key` when present and not null, which must be an array.
    func array(_ key: StaticString) throws(ModelDecodingError) -> [JSONValue] { try self[key].arrayField() }

    func string(_ key: StaticString) throws(ModelDecodingError) -> String? { try self[key].stringField() }

    func bool(_ key: StaticString) throws(ModelDecodingError) -> Bool? { try self[key].boolField() }

    func int64(_ key: StaticString) throws(ModelDecodingError) -> Int64? { try self[key].int64Field() }
}

/// A field's value as a decoder found it (nil when absent), type-checked: null reads as absent, as
/// in Go. Decoders collect their fields in one pass over an object (`JSONValue.forEachMember`), then
/// check each in declaration order, so the first error reported is the one a lookup per field would give.
extension Optional where Wrapped == JSONValue {
    func objectField() throws(ModelDecodingError) -> JSONValue? {
        guard let value = self, !value.isNull else { return nil }
        guard value.isObject else { throw ModelDecodingError(at: value, "expected an object, found \(value.typeName)") }
        return value
    }

    func arrayField() throws(ModelDecodingError) -> [JSONValue] {
        guard let value = self, !value.isNull else { return [] }
        guard value.isArray else { throw ModelDecodingError(at: value, "expected an array, found \(value.typeName)") }
        return value.elements
    }

    func stringField() throws(ModelDecodingError) -> String? {
        guard let value = self, !value.isNull else { return nil }
        guard let string = value.string else { throw ModelDecodingError(at: value, "expected a string, found \(value.typeName)") }
        return string
    }

    func boolField() throws(ModelDecodingError) -> Bool? {
        guard let value = self, !value.isNull else { return nil }
        guard let bool = value.bool else { throw ModelDecodingError(at: value, "expected a boolean, found \(value.typeName)") }
        return bool
    }

    func int64Field() throws(ModelDecodingError) -> Int64? {
        guard let value = self, !value.isNull else { return nil }
        guard value.isNumber else { throw ModelDecodingError(at: value, "expected an integer, found \(value.typeName)") }
        guard let int = value.int64 else { throw ModelDecodingError(at: value, "expected a 64-bit integer, found \(String(decoding: value.rawBytes, as: UTF8.self))") }
        return int
    }
}
