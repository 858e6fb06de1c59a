extension Duration {
    /// This duration in whole milliseconds, rounded toward zero, clamped to
    /// `Int64`'s range.
    package var wholeMilliseconds: Int64 {
        whole(1_000, attosecondsPerUnit: 1_000_000_000_000_000)
    }

    /// This duration in whole nanoseconds, rounded toward zero, clamped to
    /// `Int64`'s range (about 292 years).
    package var wholeNanoseconds: Int64 {
        whole(1_000_000_000, attosecondsPerUnit: 1_000_000_000)
    }

    /// This duration in seconds, as a `Double`.
    package var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }

    private func whole(_ unitsPerSecond: Int64, attosecondsPerUnit: Int64) -> Int64 {
        let (seconds, attoseconds) = components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: unitsPerSecond)
        if overflow { return seconds < 0 ? .min : .max }
        let (sum, sumOverflow) = whole.addingReportingOverflow(attoseconds / attosecondsPerUnit)
        return sumOverflow ? (whole < 0 ? .min : .max) : sum
    }
}
