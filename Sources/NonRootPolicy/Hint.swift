import ImageConfig

/// Builders and limits for the one-line hints that go into `warnings`.
public enum Hint {
    /// The apiserver truncates each warning to 256 runes and drops any with control characters.
    public static let maximumLength = 256

    static func container(_ name: String) -> String { "container \(goQuote(name))" }

    static func image(_ image: String, platform: String?) -> String {
        platform.map { "image \(image) (\($0))" } ?? "image \(image)"
    }

    /// Makes `text` a valid warning: control characters become spaces, and it is cut to 256 runes.
    public static func warning(_ text: String) -> String {
        // Most warnings are short printable ASCII: nothing to change. Scanned as one buffer: through
        // `String.UTF8View` the check cost 30 instructions a byte.
        var contiguous = text
        if text.utf8.count <= maximumLength, contiguous.withUTF8({ $0.allSatisfy { $0 >= 0x20 && $0 < 0x7F } }) { return text }
        var scalars = String.UnicodeScalarView()
        let all = text.unicodeScalars
        let total = all.count
        for (count, scalar) in all.enumerated() {
            if total > maximumLength, count == maximumLength - 1 {
                scalars.append("…")
                break
            }
            let control = scalar.isASCII ? scalar.value < 0x20 || scalar.value == 0x7F : scalar.properties.generalCategory == .control
            scalars.append(control ? " " : scalar)
        }
        return String(scalars)
    }
}
