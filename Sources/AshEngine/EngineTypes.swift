import AshCore

/// What to create: the arguments of `createContext`.
public struct CreateRequest: Sendable, Hashable {
    public var binding: String
    public var ttlMilliseconds: Int64
    public var mode: AshMode
    public var issueNonce: Bool

    public init(binding: String, ttlMilliseconds: Int64, mode: AshMode = .default, issueNonce: Bool = false) {
        self.binding = binding
        self.ttlMilliseconds = ttlMilliseconds
        self.mode = mode
        self.issueNonce = issueNonce
    }
}

/// A context the engine has just issued: what the client receives, with
/// the ids in their compact form.
public struct IssuedContext: Sendable, Hashable {
    public var id: ContextID
    public var issuedAt: Int64
    public var expiresAt: Int64
    public var mode: AshMode
    public var nonce: AshCompactID?

    /// `contextId`, `expiresAt`, `mode` and `nonce`, as strings.
    public var publicInfo: AshContextPublicInfo {
        AshContextPublicInfo(contextId: id.description, expiresAt: expiresAt, mode: mode, nonce: nonce?.description)
    }
}

/// The engine's consume outcome: the contract's three, with `expired` told
/// apart from `missing`.
public enum EngineConsumeResult: Sendable, Hashable {
    case consumed
    case alreadyConsumed
    case missing
    /// The context exists but expired at or before the consume's `now`.
    case expired

    /// The store contract's result: an expired context is `missing`.
    public var contractResult: ConsumeResult {
        switch self {
        case .consumed: .consumed
        case .alreadyConsumed: .alreadyConsumed
        case .missing, .expired: .missing
        }
    }
}

/// Counters of one shard, or of the whole engine.
public struct EngineStatistics: Sendable, Hashable {
    /// Contexts held now: live, or consumed and not yet expired.
    public var live = 0
    /// Of those, how many are consumed.
    public var consumedLive = 0
    public var created = 0
    public var consumed = 0
    /// Consumes that found the context already consumed.
    public var replaysDetected = 0
    /// Consumes of expired contexts.
    public var consumesOfExpired = 0
    public var consumesOfMissing = 0
    /// Contexts removed by the timer wheels.
    public var expired = 0
    public var deleted = 0
    /// Creates and puts refused because the engine was full.
    public var rejectedAtCapacity = 0

    public init() {}

    static func + (lhs: Self, rhs: Self) -> Self {
        var sum = lhs
        sum.live += rhs.live
        sum.consumedLive += rhs.consumedLive
        sum.created += rhs.created
        sum.consumed += rhs.consumed
        sum.replaysDetected += rhs.replaysDetected
        sum.consumesOfExpired += rhs.consumesOfExpired
        sum.consumesOfMissing += rhs.consumesOfMissing
        sum.expired += rhs.expired
        sum.deleted += rhs.deleted
        sum.rejectedAtCapacity += rhs.rejectedAtCapacity
        return sum
    }
}

/// A snapshot of the engine's counters, in total and per shard.
public struct EngineStats: Sendable, Hashable {
    public var total: EngineStatistics
    public var shards: [EngineStatistics]
}
