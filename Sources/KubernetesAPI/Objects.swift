#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import JSON

/// A Secret as far as pull credentials go: its type and only the data keys a pull secret can use.
/// Other keys (TLS keys, passwords) are dropped on arrival, so they are never held, cached or logged.
public struct Secret: Sendable, Equatable, CustomStringConvertible {
    public var namespace: String
    public var name: String
    /// `type`; the API server's default is `Opaque`.
    public var type: String
    /// `data[key]`, base64-decoded, for the keys in `Secret.retainedKeys` only.
    public var data: [String: [UInt8]]

    public static let retainedKeys: Set<String> = [".dockerconfigjson", ".dockercfg"]

    public init(namespace: String, name: String, type: String, data: [String: [UInt8]]) {
        self.namespace = namespace
        self.name = name
        self.type = type
        self.data = data
    }

    /// Names and sizes only.
    public var description: String {
        let keys = data.keys.sorted().map { "\($0) (\(data[$0]?.count ?? 0) bytes)" }
        return "Secret \(namespace)/\(name) type \(type), data: [\(keys.joined(separator: ", "))]"
    }

    /// Decodes the API server's JSON for a Secret.
    static func decode(_ bytes: [UInt8]) throws(KubernetesAPIError) -> Secret {
        let root = try APIObject.parse(bytes, kind: "Secret")
        var data: [String: [UInt8]] = [:]
        if let members = root["data"], members.isObject {
            for (key, value) in members.members where retainedKeys.contains(key) {
                guard let text = value.string, let decoded = Data(base64Encoded: text) else {
                    throw .invalidResponse("Secret data \(key) is not base64")
                }
                data[key] = Array(decoded)
            }
        }
        return Secret(
            namespace: root["metadata"]?["namespace"]?.string ?? "", name: root["metadata"]?["name"]?.string ?? "",
            type: root["type"]?.string ?? "Opaque", data: data)
    }
}

/// A ServiceAccount as far as pull credentials go.
public struct ServiceAccount: Sendable, Equatable {
    public var namespace: String
    public var name: String
    /// `imagePullSecrets[].name` in order, empty names kept (the pod gets them as they are).
    public var imagePullSecrets: [String]

    public init(namespace: String, name: String, imagePullSecrets: [String]) {
        self.namespace = namespace
        self.name = name
        self.imagePullSecrets = imagePullSecrets
    }

    static func decode(_ bytes: [UInt8]) throws(KubernetesAPIError) -> ServiceAccount {
        let root = try APIObject.parse(bytes, kind: "ServiceAccount")
        let names = (root["imagePullSecrets"]?.elements ?? []).map { $0["name"]?.string ?? "" }
        return ServiceAccount(
            namespace: root["metadata"]?["namespace"]?.string ?? "", name: root["metadata"]?["name"]?.string ?? "",
            imagePullSecrets: names)
    }
}

enum APIObject {
    /// Small, shallow documents; these bounds are far above any real Secret or ServiceAccount.
    static let limits = JSONLimits(maximumDepth: 32, maximumBytes: 4 << 20, maximumNodes: 1 << 18)

    static func parse(_ bytes: [UInt8], kind: String) throws(KubernetesAPIError) -> JSONValue {
        let root: JSONValue
        do {
            root = try JSONDocument(parsing: bytes, limits: limits).root
        } catch {
            throw .invalidResponse("not JSON: \(error)")
        }
        guard root.isObject else { throw .invalidResponse("expected a \(kind) object") }
        if let found = root["kind"]?.string, found != kind {
            throw .invalidResponse("expected kind \(kind), got \(quoted(found))")
        }
        return root
    }

    /// The `message` of a metav1.Status body, cut to 1024 characters; nil when the body is not one.
    static func statusMessage(_ bytes: [UInt8]) -> String? {
        guard let root = try? JSONDocument(parsing: bytes, limits: limits).root,
              root["kind"]?.string == "Status", let message = root["message"]?.string else { return nil }
        return String(message.prefix(1024))
    }
}
