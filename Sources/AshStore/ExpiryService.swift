import Logging
import ServiceLifecycle

/// Runs a store's ``ContextStore/removeExpired()`` periodically, for any
/// store that does not reclaim expired contexts by itself: PostgreSQL keeps
/// expired rows, and the in-memory reference store expired entries, until
/// something deletes them. (The engine's wheels and Redis key TTLs need
/// none.)
///
/// Add it to the `ServiceGroup` that runs the store:
///
/// ```swift
/// let expiry = ExpiryService(store: store, interval: .seconds(60), logger: logger)
/// let group = ServiceGroup(services: [client, store, expiry, server], logger: logger)
/// try await group.run()
/// ```
///
/// Each run logs how many contexts it removed (`info` when any, `debug`
/// otherwise). A failed run — PostgreSQL restarting, a timeout — is logged
/// as a warning and the next run happens on schedule, so transient errors
/// never stop the service. On graceful shutdown or cancellation the wait or
/// the run in progress is cancelled and ``run()`` returns.
public struct ExpiryService: Service {
    private let store: any ContextStore
    private let logger: Logger
    private let waitForNextRun: @Sendable () async throws -> Void
    private let didRun: @Sendable (Result<Int, any Error>) -> Void

    /// - Parameters:
    ///   - store: the store to clean, usually a ``PostgresContextStore``.
    ///   - interval: the time between the end of one run and the next.
    ///   - logger: where runs are reported.
    public init(store: some ContextStore, interval: Duration = .seconds(60), logger: Logger) {
        self.init(
            store: store,
            logger: logger,
            waitForNextRun: { try await Task.sleep(for: interval) },
            didRun: { _ in }
        )
    }

    /// For tests: `waitForNextRun` returns when the next run is due, and
    /// `didRun` hears each run's outcome.
    package init(
        store: some ContextStore,
        logger: Logger,
        waitForNextRun: @escaping @Sendable () async throws -> Void,
        didRun: @escaping @Sendable (Result<Int, any Error>) -> Void
    ) {
        self.store = store
        self.logger = logger
        self.waitForNextRun = waitForNextRun
        self.didRun = didRun
    }

    /// Cleans up every interval until graceful shutdown or cancellation.
    public func run() async {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await waitForNextRun()
                } catch {
                    return  // cancelled while waiting
                }
                guard !Task.isCancelled else { return }
                await runOnce()
            }
        }
    }

    private func runOnce() async {
        do {
            let removed = try await store.removeExpired()
            if removed > 0 {
                logger.info("removed expired contexts", metadata: ["ash.removed": "\(removed)"])
            } else {
                logger.debug("no expired contexts to remove")
            }
            didRun(.success(removed))
        } catch is CancellationError {
            didRun(.failure(CancellationError()))
        } catch {
            logger.warning("context cleanup failed; retrying at the next interval", metadata: ["ash.error": "\(error)"])
            didRun(.failure(error))
        }
    }
}
