/// Go's duration syntax, as the apiserver writes `?timeout=10s` and as users write flags.
public enum GoDuration {
    /// Parses `300ms`, `10s`, `1m30s`, `1.5h`; units ns, us (µs), ms, s, m, h. Nil when malformed.
    public static func parse(_ text: String) -> Duration? {
        var total = Duration.zero
        var rest = Substring(text)
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !digits.isEmpty, let value = Double(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            let unit = rest.prefix { $0.isLetter }
            rest = rest.dropFirst(unit.count)
            let scale: Double
            switch unit {
            case "ns": scale = 1e-9
            case "us", "µs", "μs": scale = 1e-6
            case "ms": scale = 1e-3
            case "s": scale = 1
            case "m": scale = 60
            case "h": scale = 3600
            default: return nil
            }
            let nanoseconds = value * scale * 1e9
            guard nanoseconds.isFinite, nanoseconds < 9e18 else { return nil }
            total += .nanoseconds(Int64(nanoseconds))
        }
        return total
    }
}
