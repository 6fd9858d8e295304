#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Where the API server is and how to prove who we are, as client-go's `rest.InClusterConfig` finds it:
/// `KUBERNETES_SERVICE_HOST` and `KUBERNETES_SERVICE_PORT`, the pod's service-account token and the
/// cluster CA, which is the only certificate authority trusted.
public struct InClusterConfiguration: Sendable, Equatable {
    /// The paths the kubelet mounts a service-account token at.
    public static let defaultTokenPath = "/var/run/secrets/kubernetes.io/serviceaccount/token"
    public static let defaultCAPath = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"

    /// `https://host:port`, an IPv6 host in brackets.
    public var baseURL: String
    public var tokenPath: String
    public var caPath: String

    public init(baseURL: String, tokenPath: String, caPath: String) {
        self.baseURL = baseURL
        self.tokenPath = tokenPath
        self.caPath = caPath
    }

    /// The configuration of the pod this process runs in. `environment` and the paths are parameters
    /// for tests; the token and CA must exist (they are read again later, the token as it rotates).
    public static func load(
        environment: [String: String], tokenPath: String = defaultTokenPath, caPath: String = defaultCAPath
    ) throws(KubernetesAPIError) -> InClusterConfiguration {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty,
              let port = environment["KUBERNETES_SERVICE_PORT"], !port.isEmpty else {
            throw .notInCluster("KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set")
        }
        guard let number = Int(port), (1...65535).contains(number) else {
            throw .notInCluster("KUBERNETES_SERVICE_PORT \(quoted(port)) is not a port number")
        }
        guard host.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && !"/?#@[]".utf8.contains($0) }) else {
            throw .notInCluster("KUBERNETES_SERVICE_HOST \(quoted(host)) is not a host name or address")
        }
        for (path, what) in [(tokenPath, "service-account token"), (caPath, "cluster CA")] where !FileManager.default.fileExists(atPath: path) {
            throw .notInCluster("no \(what) at \(path) (is automountServiceAccountToken false, or the token volume not mounted?)")
        }
        // As net.JoinHostPort: an IPv6 address goes in brackets.
        let authority = host.contains(":") ? "[\(host)]:\(number)" : "\(host):\(number)"
        return InClusterConfiguration(baseURL: "https://\(authority)", tokenPath: tokenPath, caPath: caPath)
    }
}
