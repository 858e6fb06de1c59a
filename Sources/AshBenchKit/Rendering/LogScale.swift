import Foundation

/// A base-10 logarithmic axis from a power of ten to a power of ten.
struct LogScale {
    let lowExponent: Int
    let highExponent: Int

    /// The smallest range of whole decades holding every positive value,
    /// with room below the smallest so that its bar stays visible.
    init(values: [Double]) {
        let positive = values.filter { $0 > 0 && $0.isFinite }
        let low = positive.min().map { Int(floor(log10($0 / 2))) } ?? 0
        let high = positive.max().map { Int(ceil(log10($0))) } ?? 1
        lowExponent = low
        highExponent = max(high, low + 1)
    }

    /// Where `value` falls, from 0 (bottom) to 1 (top); non-positive values at 0.
    func fraction(_ value: Double) -> Double {
        guard value > 0 else { return 0 }
        let position = (log10(value) - Double(lowExponent)) / Double(highExponent - lowExponent)
        return min(1, max(0, position))
    }

    /// The decades, as (value, fraction).
    var ticks: [(value: Double, fraction: Double)] {
        (lowExponent...highExponent).map { exponent in
            let value = pow(10, Double(exponent))
            return (value, fraction(value))
        }
    }
}
