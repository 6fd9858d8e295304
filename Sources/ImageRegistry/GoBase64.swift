/// `encoding/base64`'s `StdEncoding` (padded) and `RawStdEncoding` (unpadded) decoders, with their
/// error text: `illegal base64 data at input byte N`. `\r` and `\n` are skipped, as in Go.
enum GoBase64 {
    struct CorruptInput: Error, CustomStringConvertible {
        var offset: Int
        var description: String { "illegal base64 data at input byte \(offset)" }
    }

    static func decode(_ text: String, padded: Bool) throws(CorruptInput) -> [UInt8] {
        let source = Array(text.utf8)
        var output: [UInt8] = []
        output.reserveCapacity(source.count * 3 / 4)
        var position = 0
        while position < source.count {
            var quantum = [UInt8](repeating: 0, count: 4)
            var length = 4
            var trailing: Int?
            var j = 0
            quantumLoop: while j < 4 {
                if position == source.count {
                    if j == 0 { return output }
                    if j == 1 || padded { throw CorruptInput(offset: position - j) }
                    length = j
                    break quantumLoop
                }
                let byte = source[position]
                position += 1
                if let value = value(of: byte) {
                    quantum[j] = value
                    j += 1
                    continue
                }
                if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") { continue }
                guard padded, byte == UInt8(ascii: "=") else { throw CorruptInput(offset: position - 1) }
                switch j {
                case 0, 1:
                    throw CorruptInput(offset: position - 1)
                case 2:
                    while position < source.count, source[position] == UInt8(ascii: "\n") || source[position] == UInt8(ascii: "\r") { position += 1 }
                    if position == source.count { throw CorruptInput(offset: source.count) }
                    if source[position] != UInt8(ascii: "=") { throw CorruptInput(offset: position - 1) }
                    position += 1
                default:
                    break
                }
                while position < source.count, source[position] == UInt8(ascii: "\n") || source[position] == UInt8(ascii: "\r") { position += 1 }
                if position < source.count { trailing = position }
                length = j
                break quantumLoop
            }
            let bits = UInt32(quantum[0]) << 18 | UInt32(quantum[1]) << 12 | UInt32(quantum[2]) << 6 | UInt32(quantum[3])
            let bytes = [UInt8(truncatingIfNeeded: bits >> 16), UInt8(truncatingIfNeeded: bits >> 8), UInt8(truncatingIfNeeded: bits)]
            output += bytes.prefix(length - 1)
            if let trailing { throw CorruptInput(offset: trailing) }
        }
        return output
    }

    private static func value(of byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): byte - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): byte - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        default: nil
        }
    }
}
