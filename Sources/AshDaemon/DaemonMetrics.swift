import AshEngine
import AshStore
import AshWire
import CoreMetrics
import Prometheus
import Synchronization

/// ashd's metrics, kept in a Prometheus registry the daemon owns (no global
/// bootstrap), recorded through the swift-metrics API.
///
/// Names (all prefixed `ashd_`):
/// - `ashd_requests_total{command,result}`: requests answered; `result` is
///   `ok` or the error code name (`STORE_CAPACITY_EXCEEDED`, …).
/// - `ashd_request_duration_seconds{command}`: a histogram of the time from
///   handing a request to the engine to its answer; requests handed over
///   together (one batch, or one read's requests answered on the loop)
///   all count the time until the last of them was answered. Written by
///   ``RequestDurationHistogram``.
/// - `ashd_contexts_live`, `ashd_contexts_consumed_live`,
///   `ashd_contexts_created`, `ashd_consumes_total`,
///   `ashd_replays_detected_total`, `ashd_expired_total`,
///   `ashd_consumes_of_expired_total`, `ashd_rejected_at_capacity_total`:
///   the engine's counters, read at each scrape.
/// - `ashd_connections_open`: client connections now.
/// - `ashd_persistence_commits_total`, `ashd_persistence_committed_changes_total`:
///   LMDB transactions and the changes they carried (their ratio is the
///   mean commit batch size), when the daemon is durable.
/// - `ashd_persistence_commit_duration_seconds`: a histogram of the time
///   each group commit took (write, and sync in `strict`).
/// - `ashd_persistence_commit_changes`: a histogram of the changes each
///   group commit carried (its batch size).
/// - `ashd_inbound_buffered_bytes`: the storage held now by incomplete
///   inbound frames, all connections together (what `--max-buffered-bytes`
///   limits).
/// - `ashd_inbound_disconnections_total{reason}`: connections ashd closed
///   because of an incomplete frame; `reason` is `buffer_limit`
///   (`WIRE_BUFFER_LIMIT`) or `frame_timeout` (`WIRE_FRAME_TIMEOUT`), as
///   Redis counts `client_query_buffer_limit_disconnections`.
package final class DaemonMetrics: Sendable {
    /// The registry `/metrics` renders.
    package let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    private let durations: RequestDurationHistogram
    /// `ashd_requests_total{command,result="ok"}`, by the command's raw
    /// value: the common case takes no lock and no dictionary.
    private let okCounters: [CoreMetrics.Counter?]
    /// The other results, made on first use.
    private let counters = Mutex<[CounterKey: CoreMetrics.Counter]>([:])
    private let gauges: [String: CoreMetrics.Gauge]
    private let connections: CoreMetrics.Meter
    private let commitDuration: CoreMetrics.Timer
    private let commitChanges: CoreMetrics.Recorder
    private let inboundBuffered: CoreMetrics.Meter
    private let bufferLimitDisconnections: CoreMetrics.Counter
    private let frameTimeoutDisconnections: CoreMetrics.Counter

    private struct CounterKey: Hashable {
        var command: UInt8
        var result: UInt16
    }

    package init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = Self.durationBuckets
        self.factory = factory
        durations = RequestDurationHistogram(buckets: Self.durationBuckets)
        var okCounters: [CoreMetrics.Counter?] = Array(repeating: nil, count: Int(UInt8.max) + 1)
        for command in WireRequest.ID.allCases {
            okCounters[Int(command.rawValue)] = CoreMetrics.Counter(
                label: "ashd_requests_total", dimensions: [("command", command.metricName), ("result", "ok")],
                factory: factory)
        }
        self.okCounters = okCounters
        var gauges: [String: CoreMetrics.Gauge] = [:]
        for name in Self.engineGauges + Self.persistenceGauges {
            gauges[name] = CoreMetrics.Gauge(label: name, factory: factory)
        }
        self.gauges = gauges
        connections = CoreMetrics.Meter(label: "ashd_connections_open", factory: factory)
        commitDuration = CoreMetrics.Timer(label: "ashd_persistence_commit_duration_seconds", factory: factory)
        commitChanges = CoreMetrics.Recorder(
            label: "ashd_persistence_commit_changes", aggregate: true, factory: factory)
        inboundBuffered = CoreMetrics.Meter(label: "ashd_inbound_buffered_bytes", factory: factory)
        bufferLimitDisconnections = CoreMetrics.Counter(
            label: "ashd_inbound_disconnections_total", dimensions: [("reason", "buffer_limit")], factory: factory)
        frameTimeoutDisconnections = CoreMetrics.Counter(
            label: "ashd_inbound_disconnections_total", dimensions: [("reason", "frame_timeout")], factory: factory)
    }

    private static let durationBuckets: [Duration] = [
        .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500),
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(100), .milliseconds(500), .seconds(1),
    ]

    private static let engineGauges = [
        "ashd_contexts_live", "ashd_contexts_consumed_live", "ashd_contexts_created", "ashd_consumes_total",
        "ashd_replays_detected_total", "ashd_expired_total", "ashd_consumes_of_expired_total",
        "ashd_rejected_at_capacity_total",
    ]
    private static let persistenceGauges = [
        "ashd_persistence_commits_total", "ashd_persistence_committed_changes_total",
    ]

    /// Counts one answered request and its latency.
    func record(_ command: WireRequest.ID, response: WireResponse, since start: ContinuousClock.Instant) {
        durations.record(command, elapsed: ContinuousClock.now - start)
        count(command, response)
    }

    /// Records the answers to `command`s that were handed to the engine
    /// together at `start`: one clock read, one histogram update and one
    /// counter update for the batch's successes.
    func record(
        _ command: WireRequest.ID, answers: ArraySlice<WireEnvelope<WireResponse>>, since start: ContinuousClock.Instant
    ) {
        guard !answers.isEmpty else { return }
        var succeeded = 0
        for answer in answers {
            if case .error = answer.message {
                count(command, answer.message)
            } else {
                succeeded += 1
            }
        }
        record(command, answered: answers.count, succeeded: succeeded, since: start, now: .now)
    }

    /// Records `succeeded` successful answers to `command` made since
    /// `start`, and the latency of `answered` answers (the successes and the
    /// failures already counted with ``count(_:_:)``); one clock read.
    func record(
        _ command: WireRequest.ID, answered: Int, succeeded: Int, since start: ContinuousClock.Instant,
        now: ContinuousClock.Instant
    ) {
        durations.record(command, elapsed: now - start, count: answered)
        countSuccesses(command, succeeded)
    }

    /// Counts one answer to `command` (without its latency).
    func count(_ command: WireRequest.ID, _ response: WireResponse) {
        if case .error(let error) = response {
            errorCounter(command: command, code: error.code.rawValue).increment()
        } else {
            countSuccesses(command, 1)
        }
    }

    private func countSuccesses(_ command: WireRequest.ID, _ succeeded: Int) {
        guard succeeded > 0 else { return }
        okCounters[Int(command.rawValue)]?.increment(by: succeeded)
    }

    /// Counts a request the session answered itself (PING, a decoding error).
    func recordSessionReply(opcode: UInt8, response: WireResponse) {
        guard let command = WireRequest.ID(rawValue: opcode) else { return }
        count(command, response)
    }

    func connectionOpened() { connections.increment(by: 1.0) }
    func connectionClosed() { connections.decrement(by: 1.0) }

    /// A connection's incomplete frame now holds `change` more (or, when
    /// negative, fewer) bytes of storage.
    func inboundBufferedBytesChanged(by change: Int) {
        if change > 0 {
            inboundBuffered.increment(by: Double(change))
        } else if change < 0 {
            inboundBuffered.decrement(by: Double(-change))
        }
    }

    /// Counts a connection closed with `WIRE_BUFFER_LIMIT` or
    /// `WIRE_FRAME_TIMEOUT`.
    func recordInboundDisconnection(_ code: WireError.Code) {
        switch code {
        case .bufferLimit: bufferLimitDisconnections.increment()
        case .frameTimeout: frameTimeoutDisconnections.increment()
        default: break
        }
    }

    /// Copies the engine's counters into the gauges (before a scrape).
    package func update(from stats: EngineStatistics) {
        let total = stats.total
        let values: [(String, Int)] = [
            ("ashd_contexts_live", total.live), ("ashd_contexts_consumed_live", total.consumedLive),
            ("ashd_contexts_created", total.created), ("ashd_consumes_total", total.consumed),
            ("ashd_replays_detected_total", total.replaysDetected), ("ashd_expired_total", total.expired),
            ("ashd_consumes_of_expired_total", total.consumesOfExpired),
            ("ashd_rejected_at_capacity_total", total.rejectedAtCapacity),
        ]
        for (name, value) in values { gauges[name]?.record(value) }
    }

    /// Copies the persistence's commit counters into the gauges.
    package func updatePersistence(commits: Int, changes: Int) {
        gauges["ashd_persistence_commits_total"]?.record(commits)
        gauges["ashd_persistence_committed_changes_total"]?.record(changes)
    }

    /// Records one group commit (from the persistence's writer thread).
    package func recordCommit(duration: Duration, changes: Int) {
        commitDuration.recordNanoseconds(duration.wholeNanoseconds)
        commitChanges.record(changes)
    }

    /// The Prometheus text exposition of every metric.
    package func render() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        durations.emit(into: &buffer)
        return buffer
    }

    /// The counter of `command`'s answers with error `code`, made on first
    /// use (successes have their own, made up front).
    private func errorCounter(command: WireRequest.ID, code: UInt16) -> CoreMetrics.Counter {
        let key = CounterKey(command: command.rawValue, result: code)
        return counters.withLock { cache in
            if let counter = cache[key] { return counter }
            let counter = CoreMetrics.Counter(
                label: "ashd_requests_total",
                dimensions: [("command", command.metricName), ("result", WireError.Code(rawValue: code).name)],
                factory: factory
            )
            cache[key] = counter
            return counter
        }
    }
}

extension WireRequest.ID {
    /// The command's name in metrics and logs.
    var metricName: String {
        switch self {
        case .hello: "hello"
        case .ping: "ping"
        case .create: "create"
        case .createBatch: "create_batch"
        case .put: "put"
        case .get: "get"
        case .consume: "consume"
        case .consumeBatch: "consume_batch"
        case .verify: "verify"
        case .delete: "delete"
        case .cleanup: "cleanup"
        case .stats: "stats"
        }
    }
}
