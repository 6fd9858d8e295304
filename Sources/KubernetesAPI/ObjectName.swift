/// The name rules the API server applies, checked before a name goes into a URL path: a valid name
/// has no `/`, `%`, `..` or `?`, so it cannot reach another path.
enum ObjectName {
    /// Namespaces: an RFC 1123 label (`[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 characters).
    static func validateNamespace(_ name: String) throws(KubernetesAPIError) {
        if let reason = labelProblem(Substring(name)) {
            throw .invalidName(what: "namespace", name: name, reason: reason)
        }
    }

    /// Secrets and ServiceAccounts: an RFC 1123 subdomain (dot-separated labels, at most 253 characters).
    static func validateSubdomain(_ name: String, what: String) throws(KubernetesAPIError) {
        guard name.utf8.count <= 253 else {
            throw .invalidName(what: what, name: name, reason: "must be no more than 253 characters")
        }
        for label in name.split(separator: ".", omittingEmptySubsequences: false) {
            if let reason = labelProblem(label, maximum: 253) {
                throw .invalidName(what: what, name: name, reason: reason)
            }
        }
    }

    private static func labelProblem(_ label: Substring, maximum: Int = 63) -> String? {
        let bytes = Array(label.utf8)
        if bytes.isEmpty { return "must not be empty or contain an empty label" }
        if bytes.count > maximum { return "must be no more than \(maximum) characters" }
        func alphanumeric(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) }
        guard bytes.allSatisfy({ alphanumeric($0) || $0 == UInt8(ascii: "-") }),
              let first = bytes.first, let last = bytes.last, alphanumeric(first), alphanumeric(last) else {
            return "must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
        }
        return nil
    }
}
