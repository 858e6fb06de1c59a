import AshCore

/// Where contexts live: the contract every backend meets (the embedded
/// engine, the ashd client, Redis, PostgreSQL, the in-memory reference).
///
/// Requirements are the store's fast paths; the extension gives each a
/// default built on ``put(_:)``, ``get(_:)`` and ``consume(_:now:)``, so a
/// new backend needs only those, ``delete(_:)`` and ``removeExpired()``, and
/// overrides what it can do in fewer round trips.
///
/// ## Implementing a store
///
/// - ``consume(_:now:)`` **must be atomic**: among any number of concurrent
///   consumers of one id — across tasks, processes and servers — exactly one
///   sees ``ConsumeResult/consumed``. A context that has expired at `now` is
///   never consumed: it answers ``ConsumeResult/expired`` while the store
///   still recognises it, ``ConsumeResult/missing`` after.
/// - ``put(_:)`` never overwrites: putting an id that is already stored
///   throws ``ContextStoreError/Code/duplicateContext`` and leaves the stored
///   context as it was (overwriting could make a consumed context
///   consumable again).
/// - A consumed context stays readable until it expires, so a replay is
///   reported as ``ConsumeResult/alreadyConsumed``, not as missing.
/// - **Expired contexts stay recognisable for a grace period**
///   (``ContextLimits/defaultExpiredGrace`` unless configured): for at least
///   that long after `expiresAt`, ``get(_:)`` returns the context and
///   consume answers ``ConsumeResult/expired``, so verification answers
///   `ASH_CONTEXT_EXPIRED` (410) rather than `ASH_INVALID_CONTEXT` (400).
///   After it the store may forget the context.
/// - ``verify(_:expectedBinding:now:)`` answers exactly what
///   ``verifyInSteps(_:expectedBinding:now:)`` would.
/// - Failures are ``ContextStoreError``s with stable codes.
public protocol ContextStore: Sendable {
    /// The time the store issues contexts at (and, where it removes expired
    /// contexts itself, judges expiry by). ``SystemWallClock`` by default.
    var clock: any WallClock { get }

    /// Issues a context: a fresh id (and nonce) from a CSPRNG, `issuedAt`
    /// from the store's clock.
    ///
    /// Default: ``CreateRequest/makeContext(now:)`` and ``put(_:)``.
    /// - Returns: what the client receives.
    /// - Throws: ``ContextStoreError`` (`invalidArgument`, `capacityExceeded`,
    ///   backend failures).
    func create(_ request: CreateRequest) async throws -> AshContextPublicInfo

    /// Issues one context per request; results are in request order and each
    /// succeeds or fails on its own.
    ///
    /// Default: ``create(_:)-(CreateRequest)`` one after the other.
    func create(_ requests: [CreateRequest]) async -> [Result<AshContextPublicInfo, ContextStoreError>]

    /// Stores a context made elsewhere; never overwrites.
    func put(_ context: AshContext) async throws

    /// The stored context — expired ones included while they are
    /// recognisable — or `nil` when there is none.
    func get(_ contextId: String) async throws -> AshContext?

    /// Atomically marks the context consumed at `now` (Unix ms).
    func consume(_ contextId: String, now: Int64) async throws -> ConsumeResult

    /// Consumes many contexts at one instant; results are in the order of
    /// `contextIds` and each succeeds or fails on its own.
    ///
    /// Default: ``consume(_:now:)`` one after the other.
    func consume(_ contextIds: [String], now: Int64) async -> [Result<ConsumeResult, ContextStoreError>]

    /// Verifies a request against its context and consumes the context, as
    /// ``verifyInSteps(_:expectedBinding:now:)`` does, in as few round trips
    /// as the backend allows.
    ///
    /// - Returns: the context as consumed.
    /// - Throws: ``AshError`` for a rejected request; ``ContextStoreError``
    ///   when the store fails (the request must then be refused too).
    func verify(_ request: AshVerificationRequest, expectedBinding: String, now: Int64) async throws -> AshContext

    /// Removes a context; `true` if one was removed.
    func delete(_ contextId: String) async throws -> Bool

    /// Removes contexts whose grace after expiry has passed and returns how
    /// many it removed. Backends that expire entries by themselves (Redis
    /// key TTLs) return 0.
    func removeExpired() async throws -> Int
}

extension ContextStore {
    public var clock: any WallClock { SystemWallClock() }

    public func create(_ request: CreateRequest) async throws -> AshContextPublicInfo {
        let context = try request.makeContext(now: clock.nowMilliseconds())
        try await put(context)
        return context.publicInfo
    }

    public func create(_ requests: [CreateRequest]) async -> [Result<AshContextPublicInfo, ContextStoreError>] {
        var results: [Result<AshContextPublicInfo, ContextStoreError>] = []
        results.reserveCapacity(requests.count)
        for request in requests {
            do {
                results.append(.success(try await create(request)))
            } catch {
                results.append(.failure(ContextStoreError(error)))
            }
        }
        return results
    }

    public func consume(_ contextIds: [String], now: Int64) async -> [Result<ConsumeResult, ContextStoreError>] {
        var results: [Result<ConsumeResult, ContextStoreError>] = []
        results.reserveCapacity(contextIds.count)
        for contextId in contextIds {
            do {
                results.append(.success(try await consume(contextId, now: now)))
            } catch {
                results.append(.failure(ContextStoreError(error)))
            }
        }
        return results
    }

    public func verify(
        _ request: AshVerificationRequest, expectedBinding: String, now: Int64
    ) async throws -> AshContext {
        try await verifyInSteps(request, expectedBinding: expectedBinding, now: now)
    }

    /// Issues a context; the JavaScript SDK's `createContext`.
    /// - Returns: what the client receives.
    public func createContext(
        binding: String,
        ttlMilliseconds: Int64,
        mode: AshMode = .default,
        issueNonce: Bool = false
    ) async throws -> AshContextPublicInfo {
        try await create(
            CreateRequest(binding: binding, ttlMilliseconds: ttlMilliseconds, mode: mode, issueNonce: issueNonce))
    }
}

extension ContextStoreError {
    /// `error` as a store error: itself, or `internalFailure` naming its type
    /// (never its contents, which may hold request data).
    public init(_ error: any Error) {
        if let error = error as? ContextStoreError {
            self = error
        } else {
            self.init(.internalFailure, "the store failed with \(type(of: error))")
        }
    }
}

extension ContextStore {
    /// Batch create for a store whose fast path is a batch put: ids made
    /// here at the store's clock, stored by one `put` of all of them;
    /// results are in request order.
    package func create(
        _ requests: [CreateRequest],
        puttingWith put: ([AshContext]) async -> [Result<Void, ContextStoreError>]
    ) async -> [Result<AshContextPublicInfo, ContextStoreError>] {
        let now = clock.nowMilliseconds()
        let made = requests.map { request in
            Result { () throws(ContextStoreError) in try request.makeContext(now: now) }
        }
        var stored = await put(made.compactMap { try? $0.get() }).makeIterator()
        return made.map { result in
            result.flatMap { context in
                (stored.next() ?? .failure(ContextStoreError(.internalFailure, "batch put answered too few entries")))
                    .map { context.publicInfo }
            }
        }
    }
}
