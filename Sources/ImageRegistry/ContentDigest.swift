import Crypto

/// A content digest, `sha256:<64 hex>` or `sha512:<128 hex>`, checked against the bytes it names.
public struct ContentDigest: Sendable, Hashable, CustomStringConvertible {
    public enum Algorithm: String, Sendable {
        case sha256, sha512
    }

    public var algorithm: Algorithm
    /// Lowercase hexadecimal.
    public var hex: String

    /// Parses a digest; nil unless it is sha256 or sha512 with the right number of lowercase hex digits.
    public init?(_ text: String) {
        guard let colon = text.firstIndex(of: ":"), let algorithm = Algorithm(rawValue: String(text[..<colon])) else { return nil }
        let hex = text[text.index(after: colon)...]
        let expected = algorithm == .sha256 ? 64 : 128
        guard hex.utf8.count == expected, hex.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else { return nil }
        self.algorithm = algorithm
        self.hex = String(hex)
    }

    /// The sha256 digest of `bytes`.
    public static func sha256(of bytes: [UInt8]) -> ContentDigest {
        ContentDigest(algorithm: .sha256, hex: hexString(SHA256.hash(data: bytes)))
    }

    private init(algorithm: Algorithm, hex: String) {
        self.algorithm = algorithm
        self.hex = hex
    }

    /// Whether `bytes` hash to this digest.
    public func matches(_ bytes: [UInt8]) -> Bool {
        switch algorithm {
        case .sha256: ContentDigest.hexString(SHA256.hash(data: bytes)) == hex
        case .sha512: ContentDigest.hexString(SHA512.hash(data: bytes)) == hex
        }
    }

    public var description: String { "\(algorithm.rawValue):\(hex)" }

    private static func hexString<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(128)
        for byte in digest {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
