import Testing
@testable import ImageRegistry

@Suite("AddressPolicy")
struct AddressPolicyTests {
    @Test("IPv4 and IPv6 addresses are refused with a reason, or allowed", arguments: [
        ("127.0.0.1", "a loopback address" as String?),
        ("127.255.255.254", "a loopback address"),
        ("10.1.2.3", "a private (10.0.0.0/8) address"),
        ("172.16.0.1", "a private (172.16.0.0/12) address"),
        ("172.31.255.255", "a private (172.16.0.0/12) address"),
        ("172.15.255.255", nil),
        ("172.32.0.1", nil),
        ("192.168.1.1", "a private (192.168.0.0/16) address"),
        ("169.254.169.254", "a link-local (169.254.0.0/16) address"),
        ("100.64.0.1", "a shared (100.64.0.0/10) address"),
        ("100.127.255.255", "a shared (100.64.0.0/10) address"),
        ("100.63.255.255", nil),
        ("100.128.0.1", nil),
        ("0.0.0.0", "an unspecified (0.0.0.0/8) address"),
        ("0.1.2.3", "an unspecified (0.0.0.0/8) address"),
        ("224.0.0.1", "a multicast address"),
        ("239.255.255.250", "a multicast address"),
        ("240.0.0.1", "a reserved (240.0.0.0/4) address"),
        ("255.255.255.255", "a reserved (240.0.0.0/4) address"),
        ("8.8.8.8", nil),
        ("1.1.1.1", nil),
        ("192.0.0.1", "a reserved (192.0.0.0/24) address"),
        ("192.0.1.1", nil),
        ("192.169.0.1", nil),
        ("198.18.0.1", "a benchmarking (198.18.0.0/15) address"),
        ("198.19.255.255", "a benchmarking (198.18.0.0/15) address"),
        ("198.20.0.1", nil),
        ("::1", "a loopback address"),
        ("::", "an unspecified address"),
        ("fe80::1", "a link-local (fe80::/10) address"),
        ("febf::1", "a link-local (fe80::/10) address"),
        ("fc00::1", "a unique-local (fc00::/7) address"),
        ("fd12::1", "a unique-local (fc00::/7) address"),
        ("ff02::1", "a multicast address"),
        ("::ffff:127.0.0.1", "a loopback address"),
        ("::ffff:169.254.169.254", "a link-local (169.254.0.0/16) address"),
        ("::ffff:8.8.8.8", nil),
        ("64:ff9b::10.0.0.1", "a private (10.0.0.0/8) address"),
        ("64:ff9b::808:808", nil),
        ("2002:0a00:0001::1", "a private (10.0.0.0/8) address"),
        ("2002:7f00:1::", "a loopback address"),
        ("2002:808:808::1", nil),
        ("2001:4860:4860::8888", nil),
        ("2606:4700:4700::1111", nil),
        // IPv4-mapped ::ffff:0:0/96 and IPv4-translated ::ffff:0:0:0/96: judged by the embedded IPv4 address.
        ("::ffff:10.0.0.1", "a private (10.0.0.0/8) address"),
        ("::ffff:0:127.0.0.1", "a loopback address"),
        ("::ffff:0:169.254.169.254", "a link-local (169.254.0.0/16) address"),
        ("::ffff:0:8.8.8.8", nil),
        ("64:ff9b::7f00:1", "a loopback address"),
        ("64:ff9b:1::a00:1", "a local-use NAT64 (64:ff9b:1::/48) address"),
        ("64:ff9b:1:ffff::8.8.8.8", "a local-use NAT64 (64:ff9b:1::/48) address"),
        ("64:ff9b:2::1", nil),
        ("fec0::1", "a site-local (fec0::/10) address"),
        ("feff::1", "a site-local (fec0::/10) address"),
        ("2001::1", "a Teredo (2001::/32) address"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "a Teredo (2001::/32) address"),
        ("2001:1::1", nil),
        ("2002:a9fe:a9fe::1", "a link-local (169.254.0.0/16) address"),
    ])
    func refusal(text: String, reason: String?) throws {
        let address = try #require(IPAddress(text))
        #expect(AddressPolicy.refusal(for: address) == reason)
    }
}

@Suite("IPAddress")
struct IPAddressTests {
    private static let loopback6: [UInt8] = Array(repeating: 0, count: 15) + [1]

    @Test("IPv4 literals")
    func v4() {
        #expect(IPAddress("127.0.0.1") == .v4(127, 0, 0, 1))
        #expect(IPAddress("169.254.169.254") == .v4(169, 254, 169, 254))
        #expect(IPAddress("255.255.255.255") == .v4(255, 255, 255, 255))
    }

    @Test("IPv6 literals, with or without brackets")
    func v6() {
        #expect(IPAddress("::1") == .v6(Self.loopback6))
        #expect(IPAddress("[::1]") == .v6(Self.loopback6))
        #expect(IPAddress("::") == .v6(Array(repeating: 0, count: 16)))
        #expect(IPAddress("::ffff:127.0.0.1") == .v6(Array(repeating: 0, count: 10) + [0xFF, 0xFF, 127, 0, 0, 1]))
        #expect(IPAddress("2001:4860:4860::8888") == .v6([0x20, 0x01, 0x48, 0x60, 0x48, 0x60, 0, 0, 0, 0, 0, 0, 0, 0, 0x88, 0x88]))
        #expect(IPAddress("FE80::1") == .v6([0xFE, 0x80] + Array(repeating: 0, count: 13) + [1]))
    }

    @Test("host names and malformed literals are not addresses", arguments: [
        "registry.example", "localhost", "ghcr.io", "127.1", "127.0.0", "256.0.0.1", "1.2.3.4.5", "127.0.0.1:5000",
        "[::1]:5000", "[::1", "::1]", "[]", "", " 127.0.0.1", "::1::2", "fe80::1%eth0", "0x7f.0.0.1",
    ])
    func notLiterals(text: String) {
        #expect(IPAddress(text) == nil)
    }

    @Test("descriptions are canonical", arguments: [
        ("127.0.0.1", "127.0.0.1"),
        ("10.001.2.3", nil as String?),
        ("[::1]", "::1"),
        ("0:0:0:0:0:0:0:0", "::"),
        ("FE80:0000:0000:0000:0000:0000:0000:0001", "fe80::1"),
        ("fd12::1", "fd12::1"),
        ("::ffff:127.0.0.1", "::ffff:127.0.0.1"),
        ("::ffff:7f00:1", "::ffff:127.0.0.1"),
        ("64:ff9b::10.0.0.1", "64:ff9b::a00:1"),
        ("2002:0a00:0001::1", "2002:a00:1::1"),
        ("2001:4860:4860:0:0:0:0:8888", "2001:4860:4860::8888"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
    ])
    func descriptions(text: String, description: String?) {
        #expect(IPAddress(text)?.description == description)
    }

    @Test("urlHost brackets IPv6 only")
    func urlHost() {
        #expect(IPAddress("10.0.0.1")?.urlHost == "10.0.0.1")
        #expect(IPAddress("::1")?.urlHost == "[::1]")
    }
}

@Suite("IPNetwork and PrivateAccess")
struct PrivateAccessTests {
    @Test("CIDRs contain the addresses under their prefix", arguments: [
        ("10.0.0.0/8", "10.255.1.2", true),
        ("10.0.0.0/8", "11.0.0.1", false),
        ("172.16.0.0/12", "172.31.255.255", true),
        ("172.16.0.0/12", "172.32.0.0", false),
        ("192.168.1.7", "192.168.1.7", true),
        ("192.168.1.7", "192.168.1.8", false),
        ("0.0.0.0/0", "127.0.0.1", true),
        ("10.0.0.0/8", "::ffff:10.1.1.1", true),
        ("10.0.0.0/8", "fd00::1", false),
        ("fd00::/8", "fd12:3456::1", true),
        ("fd00::/8", "fc00::1", false),
        ("fe80::/10", "febf::1", true),
        ("fe80::/10", "fec0::1", false),
    ])
    func contains(network: String, address: String, expected: Bool) throws {
        let network = try #require(IPNetwork(parsing: network))
        #expect(network.contains(try #require(IPAddress(address))) == expected)
    }

    @Test("malformed CIDRs are not networks", arguments: ["10.0.0.0/33", "fd00::/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0/8", "registry/8", "10.0.0.0/8/8", "10.0.0.0/ 8"])
    func malformed(text: String) {
        #expect(IPNetwork(parsing: text) == nil)
    }

    @Test("a list of CIDRs, addresses and host names")
    func parsing() throws {
        let access = try PrivateAccess(parsing: ["10.0.0.0/8", "Registry.Internal", "fd00::/8", "192.168.5.5"])
        #expect(access.all == false)
        #expect(access.hosts == ["registry.internal"])
        #expect(access.networks.map(\.description) == ["10.0.0.0/8", "fd00::/8", "192.168.5.5/32"])
        #expect(access.allows(host: "registry.internal", address: .v4(127, 0, 0, 1)))
        #expect(access.allows(host: "REGISTRY.internal", address: .v4(169, 254, 169, 254)))
        #expect(access.allows(host: "other.internal", address: .v4(10, 9, 8, 7)))
        #expect(access.allows(host: "10.9.8.7", address: .v4(10, 9, 8, 7)))
        #expect(!access.allows(host: "other.internal", address: .v4(127, 0, 0, 1)))
        #expect(!access.allows(host: "other.internal", address: .v4(169, 254, 169, 254)))
        #expect(access.allows(host: "other.internal", address: try #require(IPAddress("fd00::5"))))
        #expect(!access.allows(host: "other.internal", address: try #require(IPAddress("::1"))))
        #expect(PrivateAccess.everything.allows(host: "x", address: .v4(127, 0, 0, 1)))
        #expect(!PrivateAccess.none.allows(host: "x", address: .v4(127, 0, 0, 1)))
    }

    @Test("entries that are neither are refused with the flag's name", arguments: ["10.0.0.0/33", "registry_internal", "-bad.host", "a..b", "http://registry"])
    func refused(entry: String) {
        #expect(throws: RegistrySetupError(reason: "--registry-allow-private: \(entry) is neither a CIDR (10.0.0.0/8), an address nor a host name")) {
            try PrivateAccess(parsing: [entry])
        }
    }

    @Test("allowPrivateAddresses is the bare flag: all or none")
    func compatibility() {
        var configuration = RegistryConfiguration()
        #expect(configuration.privateAccess == .none)
        configuration.allowPrivateAddresses = true
        #expect(configuration.privateAccess == .everything)
        configuration.allowPrivateAddresses = false
        #expect(configuration.privateAccess == .none)
    }
}

@Suite("insecure registries")
struct InsecureRegistryTests {
    /// Docker's rule: `host` is host:80 for plain HTTP, `host:port` that port only.
    @Test("an entry without a port matches port 80 only", arguments: [
        (["registry.local"], "http://registry.local/v2/", true),
        (["registry.local"], "http://registry.local:80/v2/", true),
        (["registry.local"], "http://registry.local:5000/v2/", false),
        (["registry.local"], "http://registry.local:443/v2/", false),
        (["registry.local:5000"], "http://registry.local:5000/v2/", true),
        (["registry.local:5000"], "http://registry.local/v2/", false),
        (["registry.local:5000"], "http://registry.local:5001/v2/", false),
        (["[::1]:5000"], "http://[::1]:5000/v2/", true),
        (["[::1]"], "http://[::1]:5000/v2/", false),
        (["[::1]"], "http://[::1]/v2/", true),
        (["other.local"], "http://registry.local/v2/", false),
    ])
    func portMatching(entries: [String], url: String, expected: Bool) async throws {
        var configuration = RegistryConfiguration()
        configuration.insecureRegistries = Set(entries)
        let transport = try RegistryTransport(configuration: configuration)
        let parsed = RegistryURL(absolute: url)
        await transport.shutdown()
        #expect(transport.isInsecureAllowed(try #require(parsed)) == expected)
    }
}
