#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The `\r`-updated progress line on standard error.
package struct ProgressLine: Sendable {
    /// Whether to print at all.
    package var enabled: Bool

    package init(enabled: Bool) {
        self.enabled = enabled
    }

    /// Shows `label` with the counter's rate, four times a second, while
    /// `body` runs.
    package func track<Result: Sendable>(
        _ label: String,
        _ counter: ProgressCounter,
        _ body: () async -> Result
    ) async -> Result {
        guard enabled else { return await body() }
        let start = MonotonicClock.nanoseconds()
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(250))
                let seconds = Double(MonotonicClock.nanoseconds() - start) / 1e9
                let done = counter.total
                let rate = seconds > 0 ? Double(done) / seconds : 0
                Self.emit("\r\u{1B}[K\(label)  \(Format.seconds(seconds))  \(done) iterations  \(Format.rate(rate))/s")
            }
        }
        let result = await body()
        ticker.cancel()
        _ = await ticker.value
        Self.emit("\r\u{1B}[K")
        return result
    }

    /// Prints a whole line on standard error (clearing the progress line).
    package func note(_ text: String) {
        Self.emit(enabled ? "\r\u{1B}[K\(text)\n" : "\(text)\n")
    }

    private static func emit(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { raw in
                write(STDERR_FILENO, raw.baseAddress! + offset, raw.count - offset)
            }
            if written <= 0 { return }
            offset += written
        }
    }
}
