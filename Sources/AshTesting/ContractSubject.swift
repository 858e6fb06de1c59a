import AshCore
import AshStore

/// A fresh store for one contract check, and how its time is controlled.
public struct ContractSubject<Store: ContextStore>: Sendable {
    /// How the store gets rid of expired contexts.
    public enum Expiry: Sendable {
        /// `cleanup()` removes them, using `clock`; the suite advances the
        /// clock with `advance` and checks exact counts.
        case byCleanup(advance: @Sendable (_ milliseconds: Int64) async throws -> Void)
        /// The backend expires entries itself (Redis TTLs); `cleanup()`
        /// returns 0.
        case byBackend
    }

    public var store: Store
    /// The time contexts are issued at; for a `.byCleanup` store, the time
    /// its `cleanup()` uses.
    public var clock: any WallClock
    public var expiry: Expiry
    /// Runs after the check, pass or fail (drop tables, close pools).
    public var tearDown: @Sendable () async throws -> Void

    public init(
        store: Store,
        clock: any WallClock,
        expiry: Expiry,
        tearDown: @escaping @Sendable () async throws -> Void = {}
    ) {
        self.store = store
        self.clock = clock
        self.expiry = expiry
        self.tearDown = tearDown
    }
}

/// A contract check failed; the message says which expectation.
public struct ContractViolation: Error, CustomStringConvertible {
    public let check: String
    public let message: String
    public var description: String { "contract check \(check): \(message)" }
}
