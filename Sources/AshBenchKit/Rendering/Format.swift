/// Number formatting shared by the table, the SVG and the progress line.
package enum Format {
    /// `1.23M`, `456k`, `789`.
    package static func rate(_ value: Double) -> String {
        switch value {
        case 1e6...: fixed(value / 1e6, value >= 1e7 ? 1 : 2) + "M"
        case 1e3...: fixed(value / 1e3, value >= 1e5 ? 0 : 1) + "k"
        default: fixed(value, 0)
        }
    }

    /// Microseconds: `12.3`, `1234`, `0.42`.
    package static func micros(_ value: Double) -> String {
        switch value {
        case 100...: fixed(value, 0)
        case 10...: fixed(value, 1)
        default: fixed(value, 2)
        }
    }

    /// `2.0s`.
    package static func seconds(_ value: Double) -> String { fixed(value, 1) + "s" }

    /// `1.93x`.
    package static func ratio(_ value: Double?) -> String { value.map { fixed($0, 2) + "x" } ?? "-" }

    /// A value with `digits` decimals, without Foundation.
    package static func fixed(_ value: Double, _ digits: Int) -> String {
        guard value.isFinite else { return "-" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        guard scaled < 9e15 else { return String(value) }
        let whole = Int64(scaled)
        let sign = value < 0 && whole != 0 ? "-" : ""
        guard digits > 0 else { return sign + String(whole) }
        let integer = whole / Int64(scale)
        var fraction = String(whole % Int64(scale))
        while fraction.count < digits { fraction = "0" + fraction }
        return sign + String(integer) + "." + fraction
    }
}
