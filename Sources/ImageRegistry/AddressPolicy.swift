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
            // IPv4-mapped (::ffff:0:0/96), IPv4-translated (::ffff:0:0:0/96) and NAT64 (64:ff9b::/96)
            // addresses reach IPv4 hosts: judge those.
            let mapped = bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF
            let translated = bytes[0..<8].allSatisfy { $0 == 0 } && bytes[8] == 0xFF && bytes[9] == 0xFF && bytes[10] == 0 && bytes[11] == 0
            let nat64 = bytes[0] == 0x00 && bytes[1] == 0x64 && bytes[2] == 0xFF && bytes[3] == 0x9B && bytes[4..<12].allSatisfy { $0 == 0 }
            if mapped || translated || nat64 {
                return refusal(for: .v4(bytes[12], bytes[13], bytes[14], bytes[15]))
            }
            // Local-use NAT64 (RFC 8215) translates into the operator's own, usually private, network.
            if bytes[0] == 0x00 && bytes[1] == 0x64 && bytes[2] == 0xFF && bytes[3] == 0x9B && bytes[4] == 0x00 && bytes[5] == 0x01 {
                return "a local-use NAT64 (64:ff9b:1::/48) address"
            }
            if bytes[0] == 0xFE && bytes[1] & 0xC0 == 0x80 { return "a link-local (fe80::/10) address" }
            if bytes[0] == 0xFE && bytes[1] & 0xC0 == 0xC0 { return "a site-local (fec0::/10) address" }
            if bytes[0] & 0xFE == 0xFC { return "a unique-local (fc00::/7) address" }
            if bytes[0] == 0xFF { return "a multicast address" }
            // Teredo tunnels to an IPv4 host the address hides (XOR-ed): refuse it outright.
            if bytes[0] == 0x20 && bytes[1] == 0x01 && bytes[2] == 0x00 && bytes[3] == 0x00 {
                return "a Teredo (2001::/32) address"
            }
            if bytes[0] == 0x20 && bytes[1] == 0x02 {  // 6to4 embeds an IPv4 address
                return refusal(for: .v4(bytes[2], bytes[3], bytes[4], bytes[5]))
            }
            return nil
        }
    }

    static func getaddrinfoAddresses(_ host: String) -> Result<[IPAddress], RegistryError> {
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

/// An address range in CIDR form: `10.0.0.0/8`, `fd00::/8`; a bare address is a /32 or /128.
public struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    public var address: IPAddress
    public var prefixLength: Int

    public init?(parsing text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let address = IPAddress(parts[0]) else { return nil }
        let bits = address.bytes.count * 8
        var length = bits
        if parts.count == 2 {
            guard let parsed = Int(parts[1]), (0...bits).contains(parsed), parts[1].allSatisfy(\.isASCII) else { return nil }
            length = parsed
        }
        self.address = address
        self.prefixLength = length
    }

    public var description: String { "\(address)/\(prefixLength)" }

    /// Whether `candidate` is in the range. An IPv4-mapped IPv6 address is also judged as its IPv4 address.
    public func contains(_ candidate: IPAddress) -> Bool {
        var bytes = candidate.bytes
        let own = address.bytes
        if bytes.count == 16, own.count == 4, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
            bytes = Array(bytes[12...])
        }
        guard bytes.count == own.count else { return false }
        var remaining = prefixLength
        for index in own.indices where remaining > 0 {
            let mask: UInt8 = remaining >= 8 ? 0xFF : ~(0xFF >> UInt8(remaining))
            guard bytes[index] & mask == own[index] & mask else { return false }
            remaining -= 8
        }
        return true
    }
}

/// Which internal addresses the registry client may reach anyway (`--registry-allow-private`):
/// all of them, or those in some ranges and those of some host names (in-cluster registries).
public struct PrivateAccess: Sendable, Equatable {
    /// Every internal address (the bare flag).
    public var all: Bool
    public var networks: [IPNetwork]
    /// Registry host names, lowercased, whose addresses may be internal.
    public var hosts: Set<String>

    public init(all: Bool = false, networks: [IPNetwork] = [], hosts: Set<String> = []) {
        self.all = all
        self.networks = networks
        self.hosts = hosts
    }

    public static let none = PrivateAccess()
    public static let everything = PrivateAccess(all: true)

    /// Parses `10.0.0.0/8,registry.internal,fd00::/8`: CIDRs, addresses and host names.
    public init(parsing entries: [String]) throws(RegistrySetupError) {
        self.init()
        for entry in entries {
            let lower = entry.lowercased()
            if let network = IPNetwork(parsing: lower) {
                networks.append(network)
            } else if PrivateAccess.isHostName(lower) {
                hosts.insert(lower)
            } else {
                throw RegistrySetupError(reason: "--registry-allow-private: \(entry) is neither a CIDR (10.0.0.0/8), an address nor a host name")
            }
        }
    }

    /// Whether `address`, which `host` resolved to (or is), may be reached although it is internal.
    func allows(host: String, address: IPAddress) -> Bool {
        all || hosts.contains(host.lowercased()) || networks.contains { $0.contains(address) }
    }

    /// A DNS name: dot-separated labels of letters, digits and inner hyphens.
    static func isHostName(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 253 else { return false }
        return text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && label.first != "-" && label.last != "-"
                && label.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
        }
    }
}

extension IPAddress {
    /// 4 or 16 bytes, network order.
    var bytes: [UInt8] {
        switch self {
        case .v4(let a, let b, let c, let d): [a, b, c, d]
        case .v6(let bytes): bytes
        }
    }
}
