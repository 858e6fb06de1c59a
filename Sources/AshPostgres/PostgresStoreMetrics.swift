import AshStore
import CoreMetrics

/// The metrics a ``PostgresContextStore`` records, through swift-metrics
/// (the factory of ``PostgresContextStore/Options/metricsFactory``, or the
/// process's `MetricsSystem` bootstrap), with the dimension `table`:
///
/// - `ash_postgres_connection_wait_seconds` (timer): how long each
///   operation waited for a connection — zero while one is idle; it grows
///   when every connection is busy (too few connections for the load, or
///   PostgreSQL is slow) and while a new connection is made.
/// - `ash_postgres_connection_wait_timeouts_total` (counter): operations
///   that gave up after ``PostgresContextStore/Options/connectionWaitTimeout``
///   with `STORE_TIMED_OUT`.
final class PostgresStoreMetrics: Sendable {
    static let waitLabel = "ash_postgres_connection_wait_seconds"
    static let timeoutsLabel = "ash_postgres_connection_wait_timeouts_total"

    private let wait: CoreMetrics.Timer
    private let timeouts: CoreMetrics.Counter

    init(table: PostgresTableName, factory: any MetricsFactory) {
        let dimensions = [("table", table.description)]
        wait = CoreMetrics.Timer(label: Self.waitLabel, dimensions: dimensions, factory: factory)
        timeouts = CoreMetrics.Counter(label: Self.timeoutsLabel, dimensions: dimensions, factory: factory)
    }

    func recordWait(_ duration: Duration) {
        wait.recordNanoseconds(duration.wholeNanoseconds)
    }

    func recordWaitTimeout() {
        timeouts.increment()
    }
}
