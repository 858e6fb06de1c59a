import AshStore

/// Parses durations written as `5s`, `500ms`, `2m` or `1.5s`.
package enum BenchDuration {
    /// The duration `text` names.
    ///
    /// - Throws: ``BenchError/Code/invalidOption`` for anything but a
    ///   non-negative number followed by `ms`, `s` or `m`.
    package static func parse(_ text: String) throws(BenchError) -> Duration {
        let units: [(suffix: String, milliseconds: Double)] = [("ms", 1), ("s", 1_000), ("m", 60_000)]
        for unit in units where text.hasSuffix(unit.suffix) {
            let number = text.dropLast(unit.suffix.count)
            guard let value = Double(number), value.isFinite, value >= 0, number.first != "+" else { break }
            return .milliseconds(Int64((value * unit.milliseconds).rounded()))
        }
        throw BenchError(.invalidOption, "invalid duration \"\(text)\": expected e.g. 5s, 500ms or 1m")
    }

    /// Seconds as a `Double`.
    package static func seconds(_ duration: Duration) -> Double {
        duration.seconds
    }
}
