/// Go's `time.ParseDuration`: `300ms`, `1.5h`, `2h45m`; units ns, us, µs, ms, s, m, h.
enum GoDuration {
    static func parse(_ text: String) -> Duration? {
        var rest = Substring(text)
        var negative = false
        if let sign = rest.first, sign == "-" || sign == "+" {
            negative = sign == "-"
            rest = rest.dropFirst()
        }
        if rest == "0" { return .zero }
        guard !rest.isEmpty else { return nil }
        let units: [(String, Int64)] = [("ns", 1), ("us", 1000), ("µs", 1000), ("μs", 1000), ("ms", 1_000_000), ("s", 1_000_000_000), ("m", 60_000_000_000), ("h", 3_600_000_000_000)]
        var total: Int64 = 0
        while !rest.isEmpty {
            guard let first = rest.first, first == "." || first.isASCII && first.isNumber else { return nil }
            let whole = rest.prefix { $0.isASCII && $0.isNumber }
            rest = rest.dropFirst(whole.count)
            var fraction: Substring = ""
            if rest.first == "." {
                rest = rest.dropFirst()
                fraction = rest.prefix { $0.isASCII && $0.isNumber }
                rest = rest.dropFirst(fraction.count)
            }
            guard !whole.isEmpty || !fraction.isEmpty else { return nil }
            let unitText = rest.prefix { $0 != "." && !($0.isASCII && $0.isNumber) }
            rest = rest.dropFirst(unitText.count)
            guard let unit = units.first(where: { $0.0 == unitText })?.1 else { return nil }
            guard let wholeValue = whole.isEmpty ? 0 : Int64(whole) else { return nil }
            var (value, overflow) = wholeValue.multipliedReportingOverflow(by: unit)
            guard !overflow else { return nil }
            if !fraction.isEmpty {
                var scale: Double = 1
                var digits: Double = 0
                for digit in fraction.prefix(18) {
                    digits = digits * 10 + Double(digit.wholeNumberValue ?? 0)
                    scale *= 10
                }
                value += Int64(digits * (Double(unit) / scale))
            }
            (total, overflow) = total.addingReportingOverflow(value)
            guard !overflow else { return nil }
        }
        return .nanoseconds(negative ? -total : total)
    }
}
