import AshCore
import AshStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How an engine is sized and bounded.
public struct EngineConfiguration: Sendable {
    /// The number of shard actors; at least 1. Defaults to twice the cores.
    public var shardCount: Int
    /// The most contexts held at once (live, consumed, or expired and within
    /// ``expiredGrace``);
    /// beyond it creates and puts fail with `capacityExceeded`.
    ///
    /// Each shard holds its share (the shares add up to exactly this); a
    /// create whose shard is full is issued by another shard, so creates
    /// are refused only when every shard is full. A put goes to the shard
    /// its id maps to, and is refused when that shard is full.
    public var maximumContexts: Int
    /// The longest TTL accepted, in ms (at most about 49 days).
    public var maximumTTLMilliseconds: Int64
    /// The timer wheels' tick in ms: expired contexts are reclaimed within
    /// one tick of expiring.
    public var tickMilliseconds: Int64
    /// How long an expired context stays recognisable (read, and answered
    /// `expired` by consume and verify) before the wheels reclaim it.
    public var expiredGrace: Duration
    /// Where time comes from.
    public var clock: any WallClock

    public init(
        shardCount: Int = 2 * EngineConfiguration.activeProcessorCount,
        maximumContexts: Int = 10_000_000,
        maximumTTLMilliseconds: Int64 = 7 * 24 * 3_600_000,
        tickMilliseconds: Int64 = 10,
        expiredGrace: Duration = ContextLimits.defaultExpiredGrace,
        clock: any WallClock = SystemWallClock()
    ) {
        self.shardCount = shardCount
        self.maximumContexts = maximumContexts
        self.maximumTTLMilliseconds = maximumTTLMilliseconds
        self.tickMilliseconds = tickMilliseconds
        self.expiredGrace = expiredGrace
        self.clock = clock
    }

    /// Checks every setting.
    /// - Throws: ``ContextStoreError/Code/invalidArgument`` naming the setting.
    public func validate() throws(ContextStoreError) {
        func invalid(_ message: String) -> ContextStoreError { ContextStoreError(.invalidArgument, message) }
        guard (1...1024).contains(shardCount) else { throw invalid("shard count must be 1...1024, got \(shardCount)") }
        guard maximumContexts > 0 else { throw invalid("maximum contexts must be positive") }
        // A shard numbers its records with 32 bits.
        guard maximumContextsPerShard < Int(UInt32.max) else {
            throw invalid("maximum contexts per shard must be below \(UInt32.max), got \(maximumContextsPerShard)")
        }
        guard (1...Int64(UInt32.max)).contains(maximumTTLMilliseconds) else {
            throw invalid("maximum TTL must be 1...\(UInt32.max) ms")
        }
        guard (1...1_000).contains(tickMilliseconds) else { throw invalid("tick must be 1...1000 ms") }
        _ = try ContextLimits.expiredGraceMilliseconds(expiredGrace)
    }

    /// ``expiredGrace`` in ms; valid once ``validate()`` passed.
    var expiredGraceMilliseconds: Int64 {
        (try? ContextLimits.expiredGraceMilliseconds(expiredGrace)) ?? 0
    }

    /// The most contexts any shard holds: ``maximumContexts`` over
    /// ``shardCount``, rounded up.
    var maximumContextsPerShard: Int {
        maximumContexts / shardCount + (maximumContexts % shardCount == 0 ? 0 : 1)
    }

    /// The share of ``maximumContexts`` that shard `index` holds: the
    /// quotient, plus one for the first `maximumContexts % shardCount`
    /// shards, so that the shares add up to exactly ``maximumContexts``.
    func capacity(ofShard index: Int) -> Int {
        maximumContexts / shardCount + (index < maximumContexts % shardCount ? 1 : 0)
    }

    /// The number of processors available to this process.
    public static var activeProcessorCount: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }
}
