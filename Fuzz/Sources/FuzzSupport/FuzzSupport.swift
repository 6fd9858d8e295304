// Helpers shared by the fuzz targets. A failed check traps (fatalError), which libFuzzer reports as
// a crash and saves the input that caused it.

/// The fuzzer's input as an array.
@inline(__always)
public func fuzzInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> [UInt8] {
    Array(UnsafeBufferPointer(start: data, count: size))
}

/// Traps with `message` unless `condition` holds.
@inline(__always)
public func require(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line
) {
    if !condition() { fatalError("fuzz invariant violated: \(message())", file: file, line: line) }
}

/// A printable form of bytes for failure messages: printable ASCII as is, everything else `\xHH`.
public func show(_ bytes: some Collection<UInt8>, limit: Int = 300) -> String {
    var text = "\(bytes.count) bytes: "
    for byte in bytes.prefix(limit) {
        if byte >= 0x20 && byte < 0x7F && byte != 0x5C {
            text.unicodeScalars.append(Unicode.Scalar(byte))
        } else {
            let digits = String(byte, radix: 16, uppercase: true)
            text += "\\x" + (digits.count < 2 ? "0" + digits : digits)
        }
    }
    return bytes.count > limit ? text + "…" : text
}

/// The input split at its first byte: a selector and the rest. An empty input gives selector 0.
public func splitSelector(_ bytes: [UInt8]) -> (selector: UInt8, rest: [UInt8]) {
    guard let first = bytes.first else { return (0, []) }
    return (first, Array(bytes.dropFirst()))
}
