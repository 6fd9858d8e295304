#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOPosix

/// Which addresses the registry client may connect to. A user who can create pods picks the hosts
/// the webhook connects to, so by default nothing internal is reachable: loopback, private,
/// link-local (cloud metadata at 169.254.169.254), unique-local, CGNAT, multicast and reserved ranges.
public enum AddressPolicy {
    /// Why an address is refused, or nil when it is public.
    public static func refusal(for address: IPAddress) -> String? {
        switch address {
        case .v4(let a, let b, let c, _):
            switch (a, b) {
            case (0, _): return "an unspecified (0.0.0.0/8) address"
            case (10, _): return "a private (10.0.0.0/8) address"
            case (100, 64...127): return "a shared (100.64.0.0/10) address"
            case (127, _): return "a loopback address"
            case (169, 254): return "a link-local (169.254.0.0/16) address"
            case (172, 16...31): return "a private (172.16.0.0/12) address"
            case (192, 168): return "a private (192.168.0.0/16) address"
            case (192, 0) where c == 0: return "a reserved (192.0.0.0/24) address"
            case (198, 18...19): return "a benchmarking (198.18.0.0/15) address"
            case (224...239, _): return "a multicast address"
            case (240...255, _): return "a reserved (240.0.0.0/4) address"
            default: return nil
            }
        case .v6(let bytes):
            if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] <= 1 {
                return bytes[15] == 1 ? "a loopback address" : "an unspecified address"
            }
            // The deprecated IPv4-compatible form ::a.b.c.d: judge the IPv4 address, refuse if it is odd.
            if bytes[0..<12].allSatisfy({ $0 == 0 }) {
                return refusal(for: .v4(bytes[12], bytes[13], bytes[14], bytes[15])) ?? "a deprecated IPv4-compatible (::/96) address"
            }
            // IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) reach IPv4 hosts: judge those.
            let mapped = bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF
            let nat64 = bytes[0] == 0x00 && bytes[1] == 0x64 && bytes[2] == 0xFF && bytes[3] == 0x9B && bytes[4..<12].allSatisfy { $0 == 0 }
            if mapped || nat64 {
                return refusal(for: .v4(bytes[12], bytes[13], bytes[14], bytes[15]))
            }
            if bytes[0] == 0xFE && bytes[1] & 0xC0 == 0x80 { return "a link-local (fe80::/10) address" }
            if bytes[0] & 0xFE == 0xFC { return "a unique-local (fc00::/7) address" }
            if bytes[0] == 0xFF { return "a multicast address" }
            if bytes[0] == 0x20 && bytes[1] == 0x02 {  // 6to4 embeds an IPv4 address
                return refusal(for: .v4(bytes[2], bytes[3], bytes[4], bytes[5]))
            }
            return nil
        }
    }

    /// Resolves `host` (off the event loops) and returns its addresses, or throws when resolution fails.
    static func resolve(_ host: String) async throws(RegistryError) -> [IPAddress] {
        if let literal = IPAddress(host) { return [literal] }
        let result: Result<[IPAddress], RegistryError> = await withCheckedContinuation { continuation in
            NIOThreadPool.singleton.submit { state in
                guard case .active = state else {
                    continuation.resume(returning: .failure(.dns(host: host, reason: "resolver unavailable")))
                    return
                }
                continuation.resume(returning: getaddrinfoAddresses(host))
            }
        }
        return try result.get()
    }

    private static func getaddrinfoAddresses(_ host: String) -> Result<[IPAddress], RegistryError> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        guard status == 0, let first = list else {
            let reason = String(cString: gai_strerror(status))
            return .failure(.dns(host: host, reason: reason))
        }
        defer { freeaddrinfo(first) }
        var addresses: [IPAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            if let address = entry.pointee.ai_addr {
                switch Int32(address.pointee.sa_family) {
                case AF_INET:
                    address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                        withUnsafeBytes(of: sin.pointee.sin_addr) { raw in
                            addresses.append(.v4(raw[0], raw[1], raw[2], raw[3]))
                        }
                    }
                case AF_INET6:
                    address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                        withUnsafeBytes(of: sin6.pointee.sin6_addr) { raw in addresses.append(.v6(Array(raw))) }
                    }
                default:
                    break
                }
            }
            cursor = entry.pointee.ai_next
        }
        guard !addresses.isEmpty else { return .failure(.dns(host: host, reason: "no addresses")) }
        var seen = Set<IPAddress>()
        return .success(addresses.filter { seen.insert($0).inserted })
    }
}

/// An IPv4 or IPv6 address.
public enum IPAddress: Sendable, Hashable, CustomStringConvertible {
    case v4(UInt8, UInt8, UInt8, UInt8)
    /// 16 bytes.
    case v6([UInt8])

    /// Parses a literal (`10.0.0.1`, `::1`, `[::1]`); nil for host names.
    public init?(_ text: String) {
        var text = text
        if text.hasPrefix("["), text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            let bytes = withUnsafeBytes(of: v4) { Array($0) }
            self = .v4(bytes[0], bytes[1], bytes[2], bytes[3])
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            self = .v6(withUnsafeBytes(of: v6) { Array($0) })
            return
        }
        return nil
    }

    public var description: String {
        switch self {
        case .v4(let a, let b, let c, let d):
            return "\(a).\(b).\(c).\(d)"
        case .v6(let bytes):
            var raw = in6_addr()
            withUnsafeMutableBytes(of: &raw) { $0.copyBytes(from: bytes) }
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            guard inet_ntop(AF_INET6, &raw, &buffer, socklen_t(buffer.count)) != nil else { return "?" }
            return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// How to write the address in a URL host.
    var urlHost: String {
        if case .v6 = self { return "[\(description)]" }
        return description
    }
}
