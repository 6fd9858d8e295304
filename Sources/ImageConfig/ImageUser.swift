/// The user an image's config declares, as the container runtime reports it to the kubelet over CRI.
///
/// containerd and CRI-O turn the config `User` string into a uid or a username with the same
/// `getUserFromImage`; this type is its result.
public enum ImageUser: Sendable, Hashable, CustomStringConvertible {
    /// No USER: CRI reports neither uid nor username, and the kubelet falls back to uid 0.
    case unset
    /// A numeric user (the part before `:`), as Go's `strconv.ParseInt(s, 10, 64)` reads it.
    case uid(Int64)
    /// A non-numeric user, such as `root` or `app`.
    case name(String)

    /// Parses an image config `User` string exactly as containerd's and CRI-O's `getUserFromImage`.
    public init(configUser user: String) {
        if user.isEmpty {
            self = .unset
            return
        }
        // strings.Split(user, ":")[0]
        let first = user.utf8.firstIndex(of: UInt8(ascii: ":")).map { String(user[..<$0]) } ?? user
        if let uid = ImageUser.parseGoInt64(first) {
            self = .uid(uid)
        } else if first.isEmpty {
            // ParseInt("") fails and the username is "": CRI reports nothing, so the kubelet assumes root.
            self = .unset
        } else {
            self = .name(first)
        }
    }

    /// `strconv.ParseInt(s, 10, 64)`: an optional sign, then ASCII digits only; nil on overflow.
    static func parseGoInt64(_ text: String) -> Int64? {
        var bytes = Substring(text).utf8[...]
        var negative = false
        if let sign = bytes.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
            negative = sign == UInt8(ascii: "-")
            bytes = bytes.dropFirst()
        }
        guard !bytes.isEmpty else { return nil }
        var magnitude: UInt64 = 0
        for byte in bytes {
            let digit = byte &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (times10, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(digit))
            if o1 || o2 { return nil }
            magnitude = sum
        }
        if negative {
            if magnitude == UInt64(Int64.max) + 1 { return .min }
            return magnitude <= UInt64(Int64.max) ? -Int64(magnitude) : nil
        }
        return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
    }

    public var description: String {
        switch self {
        case .unset: "no USER"
        case .uid(let uid): "USER \(uid)"
        case .name(let name): "USER \(name)"
        }
    }
}
