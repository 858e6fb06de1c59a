/// `String(number)` as JavaScript prints a finite double (ECMA-262
/// Number::toString with radix 10).
///
/// The shortest round-trip digits come from Swift's own `description`, which
/// is shortest-and-closest like JavaScript's; only the layout differs, so the
/// digits are re-laid out by the specification's rules: plain notation for
/// decimal exponents from -6 to 20, otherwise `d.ddde±x`.
package enum JavaScriptNumber {
    package static func format(_ value: Double) -> String {
        precondition(value.isFinite, "JavaScript number formatting needs a finite value")
        if value == 0 { return "0" }  // also -0
        // Integers below 2^53 print as their digits, as JavaScript does.
        if value.magnitude < 9_007_199_254_740_992, value.rounded(.towardZero) == value {
            return String(Int64(value))
        }
        let (digits, exponent) = shortestDigits(of: value.magnitude)
        let sign = value < 0 ? "-" : ""
        // value = 0.d1d2...dk × 10^n, with k digits.
        let k = digits.count
        let n = exponent
        var out = sign
        if k <= n && n <= 21 {
            out += digits + String(repeating: "0", count: n - k)
        } else if 0 < n && n <= 21 {
            let split = digits.index(digits.startIndex, offsetBy: n)
            out += digits[..<split] + "." + digits[split...]
        } else if -6 < n && n <= 0 {
            out += "0." + String(repeating: "0", count: -n) + digits
        } else {
            let e = n - 1
            let exponentText = e < 0 ? "-\(-e)" : "+\(e)"
            if k == 1 {
                out += digits + "e" + exponentText
            } else {
                out += digits.prefix(1) + "." + digits.dropFirst() + "e" + exponentText
            }
        }
        return out
    }

    /// The significant digits (no leading or trailing zeros) and `n` such that
    /// the value is `0.digits × 10^n`.
    private static func shortestDigits(of magnitude: Double) -> (String, Int) {
        let text = magnitude.description  // e.g. "123.45", "1e-07", "1.2345e+20"
        var mantissa = Substring(text)
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = text[..<e]
            exponent = Int(text[text.index(after: e)...])!
        }
        var integerPart = mantissa
        var fractionPart: Substring = ""
        if let dot = mantissa.firstIndex(of: ".") {
            integerPart = mantissa[..<dot]
            fractionPart = mantissa[mantissa.index(after: dot)...]
        }
        var digits = String(integerPart) + fractionPart
        var pointPosition = integerPart.count + exponent
        while digits.hasPrefix("0") {
            digits.removeFirst()
            pointPosition -= 1
        }
        while digits.hasSuffix("0") { digits.removeLast() }
        return (digits, pointPosition)
    }
}
