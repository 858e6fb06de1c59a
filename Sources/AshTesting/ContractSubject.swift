import AshCore
import AshStore

/// A fresh store for one contract check, and how its time is controlled.
public struct ContractSubject<Store: ContextStore>: Sendable {
    /// How the store gets rid of expired contexts.
    public enum Expiry: Sendable {
        /// `removeExpired()` removes them, using `clock`; the suite advances
        /// the clock with `advance` and checks exact counts.
        case byCleanup(advance: @Sendable (_ milliseconds: Int64) async throws -> Void)
        /// The backend expires entries itself (Redis TTLs); `removeExpired()`
        /// returns 0.
        case byBackend
    }

    public var store: Store
    /// The store's clock: the time contexts are issued at and, for a
    /// `.byCleanup` store, the time its `removeExpired()` uses.
    public var clock: any WallClock
    public var expiry: Expiry
    /// The expired grace the store was made with, in ms.
    public var expiredGraceMilliseconds: Int64
    /// Runs after the check, pass or fail (drop tables, close pools).
    public var tearDown: @Sendable () async throws -> Void

    public init(
        store: Store,
        clock: any WallClock,
        expiry: Expiry,
        expiredGrace: Duration = ContextLimits.defaultExpiredGrace,
        tearDown: @escaping @Sendable () async throws -> Void = {}
    ) {
        self.store = store
        self.clock = clock
        self.expiry = expiry
        self.expiredGraceMilliseconds = expiredGrace.wholeMilliseconds
        self.tearDown = tearDown
    }
}

/// A contract check failed; the message says which expectation.
public struct ContractViolation: Error, CustomStringConvertible {
    public let check: String
    public let message: String
    public var description: String { "contract check \(check): \(message)" }
}
