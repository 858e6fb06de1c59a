import AshCore
import AshStore

/// A context the engine has just issued: what the client receives, with
/// the ids in their compact form.
struct IssuedContext: Sendable, Hashable {
    var id: ContextID
    var issuedAt: Int64
    var expiresAt: Int64
    var mode: AshMode
    var nonce: AshCompactID?

    /// `contextId`, `expiresAt`, `mode` and `nonce`, as strings.
    var publicInfo: AshContextPublicInfo {
        AshContextPublicInfo(contextId: id.description, expiresAt: expiresAt, mode: mode, nonce: nonce?.description)
    }
}

/// Counters of one shard, or of the whole engine.
public struct EngineCounters: Sendable, Hashable {
    /// Contexts held now: live, consumed, or expired within the grace.
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
    /// Contexts removed by the timer wheels once their grace had passed.
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
public struct EngineStatistics: Sendable, Hashable {
    public var total: EngineCounters
    public var shards: [EngineCounters]
}
