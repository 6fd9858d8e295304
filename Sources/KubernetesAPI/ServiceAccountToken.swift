#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The pod's service-account token, read from its file for every request. The kubelet rotates a
/// projected token by swapping a symlink, so the next request after a rotation sends the new one.
/// Requests are rare (answers are cached), and reading a few KiB costs far less than the round trip,
/// so nothing is cached here, not even briefly.
struct ServiceAccountToken: Sendable {
    let path: String
    /// Tokens are JWTs of a few KiB; anything far larger is not a token.
    static let maximumBytes = 64 << 10

    /// The current token.
    func current() throws(KubernetesAPIError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .notInCluster("cannot read the service-account token at \(path)")
        }
        let isSpace = { (b: UInt8) in b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
        let bytes = Array(data).drop(while: isSpace).reversed().drop(while: isSpace).reversed()
        // The token goes into a header: printable ASCII, not empty.
        guard !bytes.isEmpty, bytes.count <= ServiceAccountToken.maximumBytes, bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw .notInCluster("the service-account token at \(path) is empty or not a token")
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
