// ImageUser(configUser:) — containerd's and CRI-O's getUserFromImage — and the kubelet's
// getImageUser and verifyLinuxImage. Never a crash; a numeric user is exactly what Go's
// strconv.ParseInt(s, 10, 64) reads, for which Swift's Int64(_:) is the reference (both take an
// optional + or - and ASCII digits only, and both refuse overflow).
import FuzzSupport
import ImageConfig
import NonRootPolicy

let maximumUserID = Int64(Int32.max)

/// What the parse must give for a config `User`, from the standard library alone.
func expected(_ user: String) -> ImageUser {
    if user.isEmpty { return .unset }
    // strings.Split(user, ":")[0], on bytes as in Go (not on Characters: ":\u{301}" is one Character).
    let first = Substring(user.utf8.split(separator: UInt8(ascii: ":"), maxSplits: 1, omittingEmptySubsequences: false)[0])
    if let uid = Int64(first) { return .uid(uid) }
    return first.isEmpty ? .unset : .name(String(first))
}

func checkUser(_ user: String) {
    let parsed = ImageUser(configUser: user)
    require(parsed == expected(user), "ImageUser(configUser: \(user.debugDescription)) = \(parsed), expected \(expected(user))")
    _ = parsed.description

    let (uid, username) = KubeletImageUser.getImageUser(parsed)
    switch parsed {
    case .unset: require(uid == 0 && username.isEmpty, "unset user is not uid 0")
    case .uid(let value): require(uid == value && username.isEmpty, "uid lost")
    case .name(let name): require(uid == nil && username == name && !name.isEmpty, "name lost")
    }
    let suffix = "(pod: \"p_ns(u)\", container: c)"
    let message = KubeletImageUser.verifyLinuxImage(uid: uid, username: username, suffix: suffix)
    let allowed: Bool
    switch parsed {
    case .unset: allowed = false
    case .uid(let value): allowed = value >= 1 && value <= maximumUserID
    case .name: allowed = false
    }
    require((message == nil) == allowed, "verifyLinuxImage(\(String(describing: uid)), \(username.debugDescription)) = \(String(describing: message))")
    if let message {
        require(message.hasPrefix("container has runAsNonRoot and image "), "message prefix: \(message)")
        require(message.hasSuffix(" " + suffix), "message suffix: \(message)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = fuzzInput(data, size)
    // The input as a config User, as is.
    checkUser(String(decoding: bytes, as: UTF8.self))

    // Numbers spelled every way ParseInt reads them, from the first 8 bytes, with the rest as a group.
    guard bytes.count >= 8 else { return 0 }
    let value = bytes.prefix(8).reduce(Int64(0)) { $0 << 8 | Int64($1) }
    let group = String(decoding: bytes.dropFirst(8), as: UTF8.self)
    let magnitude = String(value.magnitude)
    for spelled in [String(value), "+" + String(value), (value < 0 ? "-" : "+") + "000" + magnitude, String(value) + "0", "-" + magnitude + "9"] {
        checkUser(spelled)
        checkUser(spelled + ":" + group)
    }
    require(ImageUser(configUser: String(value) + ":" + group) == .uid(value), "\(value) is not read as uid \(value)")
    return 0
}
