import AshWire
import Prometheus
import Synchronization

/// `ashd_request_duration_seconds{command}`: how long answered requests
/// took, one Prometheus histogram per command.
///
/// Kept here rather than in swift-prometheus' histogram, which takes one
/// observation per call (a lock and a comparison with every bucket each):
/// the answers a read or a batch produced together share one latency and
/// are recorded under one lock, so at depth 16 a read costs one update
/// instead of sixteen. The exposition is the same as that library's
/// (bucket bounds, `_sum` and `_count` written alike), so dashboards and
/// alerts see no difference.
final class RequestDurationHistogram: Sendable {
    /// The metric's name.
    static let name = "ashd_request_duration_seconds"

    /// Upper bucket bounds, ascending, in nanoseconds (50 µs … 1 s).
    private let bounds: [Int64]
    /// How each bound is written as `le` (seconds, as swift-prometheus
    /// writes a `Duration`).
    private let boundLabels: [String]
    /// One histogram per command, indexed by the command's raw value.
    private let commands: [Command?]

    private final class Command: Sendable {
        let labels: String
        let state: Mutex<State>

        init(labels: String, buckets: Int) {
            self.labels = labels
            state = Mutex(State(counts: Array(repeating: 0, count: buckets)))
        }
    }

    private struct State {
        /// Observations per bucket (not cumulative); the last is `+Inf`.
        var counts: [Int]
        var sum = Duration.zero
        var count = 0
    }

    init(buckets: [Duration]) {
        let sorted = buckets.sorted()
        bounds = sorted.map(\.saturatingNanoseconds)
        boundLabels = sorted.map(\.bucketRepresentation)
        var commands: [Command?] = Array(repeating: nil, count: Int(UInt8.max) + 1)
        for command in WireRequest.ID.allCases where command != .hello {
            commands[Int(command.rawValue)] = Command(
                labels: #"command=""# + command.metricName + #"""#, buckets: sorted.count + 1)
        }
        self.commands = commands
    }

    /// Records `count` answers to `command` that each took `elapsed`.
    ///
    /// - Complexity: O(*b*) in the buckets, one lock.
    func record(_ command: WireRequest.ID, elapsed: Duration, count: Int = 1) {
        guard count > 0, let histogram = commands[Int(command.rawValue)] else { return }
        // A monotonic clock's differences are never negative nor days long,
        // and a batch holds thousands at most; clamped anyway, so neither
        // the sum nor the counts can overflow.
        let elapsed = min(max(elapsed, .zero), Self.longest)
        let count = min(count, Self.mostAtOnce)
        let nanoseconds = elapsed.saturatingNanoseconds
        let bucket = bounds.firstIndex { nanoseconds <= $0 } ?? bounds.count
        let total = elapsed * count
        histogram.state.withLock { state in
            state.counts[bucket] &+= count
            state.sum += total
            state.count &+= count
        }
    }

    private static let longest = Duration.seconds(1_000_000)
    private static let mostAtOnce = 1 << 32

    /// Appends the Prometheus text exposition of every command's histogram.
    func emit(into buffer: inout [UInt8]) {
        buffer.append(contentsOf: "# TYPE \(Self.name) histogram\n".utf8)
        for histogram in commands {
            guard let histogram else { continue }
            let state = histogram.state.withLock { $0 }
            var cumulative = 0
            for (index, label) in boundLabels.enumerated() {
                cumulative &+= state.counts[index]
                line("_bucket{\(histogram.labels),le=\"\(label)\"}", cumulative, into: &buffer)
            }
            line("_bucket{\(histogram.labels),le=\"+Inf\"}", state.count, into: &buffer)
            line("_sum{\(histogram.labels)}", state.sum.bucketRepresentation, into: &buffer)
            line("_count{\(histogram.labels)}", state.count, into: &buffer)
        }
    }

    private func line(_ suffix: String, _ value: some CustomStringConvertible, into buffer: inout [UInt8]) {
        buffer.append(contentsOf: "\(Self.name)\(suffix) \(value)\n".utf8)
    }
}

extension Duration {
    /// The duration in whole nanoseconds, clamped to `Int64`'s range
    /// (`Duration` spans far more).
    fileprivate var saturatingNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        guard seconds < Int64.max / 1_000_000_000 else { return .max }
        guard seconds > Int64.min / 1_000_000_000 else { return .min }
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
