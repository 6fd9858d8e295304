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
        var scalars = String.UnicodeScalarView()
        let all = text.unicodeScalars
        let total = all.count
        for (count, scalar) in all.enumerated() {
            if total > maximumLength, count == maximumLength - 1 {
                scalars.append("…")
                break
            }
            scalars.append(scalar.properties.generalCategory == .control ? " " : scalar)
        }
        return String(scalars)
    }
}
