import AshCore
import AshStore

/// Everything one shard owns, as a value: its records, bindings, timer
/// wheel, id generator and counters. Every operation is synchronous and
/// complete — a check and the write it guards happen in one call — so the
/// shard actor that owns this value never suspends between them.
struct ShardState {
    let shardIndex: Int
    let shardCount: Int
    let capacity: Int
    let maximumTTL: Int64
    /// How long past `expiresAt` a context stays recognisable, in ms
    /// (0 … one day, so `expiresAt + grace` never overflows).
    let grace: Int64
    var table: ContextTable
    var bindings = BindingTable()
    var wheel: TimerWheel<UInt64>
    var identifiers = AshIdentifierGenerator()
    var counters = EngineCounters()

    init(shardIndex: Int, configuration: EngineConfiguration, now: Int64) {
        self.shardIndex = shardIndex
        shardCount = configuration.shardCount
        capacity = configuration.capacity(ofShard: shardIndex)
        maximumTTL = configuration.maximumTTLMilliseconds
        grace = configuration.expiredGraceMilliseconds
        var seed = AshIdentifierGenerator(bufferSize: 16)
        table = ContextTable(seed: seed.nextBytes().0, maximumCount: max(capacity, 1))
        wheel = TimerWheel(now: now, tickMilliseconds: configuration.tickMilliseconds, maximumCount: capacity)
    }

    // MARK: Creating

    /// Issues a context whose id maps to this shard.
    ///
    /// A create refused only because this shard is full is not counted in
    /// ``EngineCounters/rejectedAtCapacity``: the engine tries another
    /// shard, and counts the refusal when every shard is full.
    mutating func create(_ request: CreateRequest, now: Int64) -> Result<IssuedContext, ContextStoreError> {
        let expiresAt: Int64
        do throws(ContextStoreError) {
            try ContextLimits.validateBinding(request.binding)
            expiresAt = try Self.expiry(ttl: request.ttlMilliseconds, maximumTTL: maximumTTL, now: now)
            guard table.count < capacity else { throw Self.full }
        } catch {
            return .failure(error)
        }
        let id = nextOwnID()
        let nonce = request.issueNonce ? AshCompactID(words: identifiers.nextBytes()) : nil
        let record = StoredRecord(
            id: id, nonce: nonce ?? AshCompactID(high: 0, low: 0), expiresAt: expiresAt,
            consumedAt: StoredRecord.notConsumed, ttl: UInt32(request.ttlMilliseconds),
            binding: bindings.retain(request.binding), generation: 0, mode: request.mode,
            flags: nonce == nil ? [] : .compactNonce)
        insert(record, id: .compact(id), foreignNonce: nil)
        counters.created += 1
        return .success(
            IssuedContext(
                id: .compact(id), issuedAt: now, expiresAt: record.expiresAt, mode: request.mode, nonce: nonce))
    }

    /// A fresh random id that `ContextEngine.shardIndex(of:)` maps here: 128
    /// CSPRNG bits, of which the 32 that pick the shard are scaled into this
    /// shard's range. Shards are chosen evenly, so ids stay uniform overall.
    private mutating func nextOwnID() -> AshCompactID {
        var id = AshCompactID(words: identifiers.nextBytes())
        let (start, width) = ShardRouting.range(of: shardIndex, among: shardCount)
        let scaled = start + ((id.low >> 32) &* width) >> 32
        id.low = (id.low & 0xFFFF_FFFF) | scaled << 32
        return id
    }

    /// `now + ttl`, for a TTL of 1 … `maximumTTL` ms and a `now` in
    /// `ContextLimits.timestamps`.
    /// - Throws: `invalidArgument` for a TTL or a `now` out of range.
    static func expiry(ttl: Int64, maximumTTL: Int64, now: Int64) throws(ContextStoreError) -> Int64 {
        guard ttl > 0 else { throw ContextStoreError(.invalidArgument, "ttl must be positive") }
        guard ttl <= maximumTTL else {
            throw ContextStoreError(.invalidArgument, "ttl exceeds the maximum of \(maximumTTL) ms")
        }
        // The clock's reading is checked too: with both in range the sum
        // cannot overflow (`maximumTTL` is at most `UInt32.max`).
        try ContextLimits.validateTimestamp(now, "the clock's now")
        // Issued near the end of the range, it would expire beyond it, and a
        // durable engine could not read it back.
        try ContextLimits.validateTimestamp(now + ttl, "expiresAt")
        return now + ttl
    }

    static let full = ContextStoreError(.capacityExceeded, "the engine holds its maximum of contexts")

    /// Stores a context made elsewhere (a client's PUT).
    ///
    /// Besides ``PersistedContext/validate()``: the context must not have
    /// expired at `now`, its lifetime (`expiresAt - issuedAt`) must not
    /// exceed the maximum TTL, and it must expire within the maximum TTL
    /// from `now`. A context from a clock somewhat ahead of this one (a
    /// future `issuedAt`) is accepted within that bound; nothing a client
    /// stores outlives what CREATE could have issued.
    mutating func put(_ context: PersistedContext, now: Int64) throws(ContextStoreError) {
        try context.validate()
        // With the clock's reading in range too, no difference below overflows.
        try ContextLimits.validateTimestamp(now, "the clock's now")
        guard context.expiresAt - context.issuedAt <= maximumTTL else {
            throw ContextStoreError(
                .invalidArgument, "expiresAt - issuedAt exceeds the maximum TTL of \(maximumTTL) ms")
        }
        guard context.expiresAt > now else {
            throw ContextStoreError(.invalidArgument, "the context has already expired (expiresAt is not after now)")
        }
        guard context.expiresAt - now <= maximumTTL else {
            throw ContextStoreError(
                .invalidArgument, "expiresAt is further from now than the maximum TTL of \(maximumTTL) ms")
        }
        guard table.slot(of: context.id) == nil else {
            throw ContextStoreError(.duplicateContext, "a context with this id exists")
        }
        try store(context)
    }

    /// Stores a context read back from the persistence: its fields are
    /// checked as any put's (the disk is not trusted), but not against
    /// `now` or today's maximum TTL, which may have changed since it was
    /// written; only against what a record can hold.
    /// - Parameter isNew: `true` when the caller knows the id is not
    ///   present (recovery looked it up already).
    mutating func load(_ context: PersistedContext, isNew: Bool) throws(ContextStoreError) {
        try context.validate()
        guard context.expiresAt - context.issuedAt <= Int64(UInt32.max) else {
            throw ContextStoreError(.invalidArgument, "expiresAt - issuedAt exceeds \(UInt32.max) ms")
        }
        guard isNew || table.slot(of: context.id) == nil else {
            throw ContextStoreError(.duplicateContext, "a context with this id exists")
        }
        try store(context)
    }

    /// Inserts a validated context whose id is not present.
    private mutating func store(_ context: PersistedContext) throws(ContextStoreError) {
        guard table.count < capacity else {
            counters.rejectedAtCapacity += 1
            throw Self.full
        }
        let ttl = context.expiresAt - context.issuedAt
        var flags: StoredRecord.Flags = []
        var compactNonce = AshCompactID(high: 0, low: 0)
        var foreignNonce: String?
        switch context.nonce {
        case .compact(let compact)?:
            compactNonce = compact
            flags.insert(.compactNonce)
        case .foreign(let text)?:
            foreignNonce = text
        case nil:
            break
        }
        let record = StoredRecord(
            id: AshCompactID(high: 0, low: 0), nonce: compactNonce, expiresAt: context.expiresAt,
            consumedAt: context.consumedAt ?? StoredRecord.notConsumed, ttl: UInt32(ttl),
            binding: bindings.retain(context.binding), generation: 0, mode: context.mode, flags: flags)
        insert(record, id: context.id, foreignNonce: foreignNonce)
        counters.created += 1
    }

    /// Loads a recovered context.
    ///
    /// The same id stored twice (possible only when a delete's commit
    /// failed and the id was put again, with another expiry) loads once: the
    /// first record recovered stays, consumed if either record is, and
    /// `repairs` receives the changes that make the storage agree (the
    /// consume of the kept record, the delete of the other), so that a
    /// consumed context never becomes consumable again once the kept one
    /// expires.
    mutating func restore(
        _ context: PersistedContext, now: Int64, repairs: inout [PersistedChange]
    ) throws(ContextStoreError) {
        try context.validate()
        guard let slot = table.slot(of: context.id) else {
            try load(context, isNew: true)
            return
        }
        if let consumedAt = context.consumedAt, !table[slot].isConsumed {
            table[slot].consumedAt = consumedAt
            counters.consumedLive += 1
            repairs.append(.consume(context.id, expiresAt: table[slot].expiresAt, at: consumedAt))
        }
        if context.expiresAt != table[slot].expiresAt {
            repairs.append(.delete(context.id, expiresAt: context.expiresAt))
        }
    }

    /// Makes room for `additional` more contexts (recovery).
    mutating func reserveCapacity(additional: Int) {
        table.reserveCapacity(additional: additional)
        wheel.reserveCapacity(wheel.count + additional)
    }

    private mutating func insert(_ record: StoredRecord, id: ContextID, foreignNonce: String?) {
        let slot = table.insert(record, id: id, foreignNonce: foreignNonce)
        let stored = table[slot]
        wheel.schedule(Self.timer(slot: slot, generation: stored.generation), at: stored.expiresAt + grace)
        if stored.isConsumed { counters.consumedLive += 1 }
    }

    // MARK: Reading and consuming

    /// The slot of the context, unless it is missing or its grace after
    /// expiry has passed at `now` (it may wait a tick for the wheel).
    func recognisedSlot(of id: ContextID, now: Int64) -> UInt32? {
        guard let slot = table.slot(of: id), table[slot].expiresAt + grace > now else { return nil }
        return slot
    }

    /// The context, expired or not, unless it is missing or past its grace.
    func get(_ id: ContextID, now: Int64) -> AshContext? {
        recognisedSlot(of: id, now: now).map(context(at:))
    }

    func context(at slot: UInt32) -> AshContext {
        let record = table[slot]
        return AshContext(
            contextId: table.id(at: slot).description, binding: bindings[record.binding], mode: record.mode,
            issuedAt: record.issuedAt, expiresAt: record.expiresAt, nonce: table.nonce(at: slot),
            consumedAt: record.isConsumed ? record.consumedAt : nil)
    }

    /// Look up, check expiry, check consumed, set `consumedAt`: one step.
    /// - Precondition: `now` is in `ContextLimits.timestamps` (the engine
    ///   checks it before any shard sees it), so it is never the
    ///   not-consumed marker.
    mutating func consume(_ id: ContextID, now: Int64) -> ConsumeResult {
        var expiresAt: Int64 = 0
        return consume(id, now: now, expiresAt: &expiresAt)
    }

    /// ``consume(_:now:)``, also telling the context's `expiresAt` (set
    /// whenever the context was found).
    mutating func consume(_ id: ContextID, now: Int64, expiresAt: inout Int64) -> ConsumeResult {
        assert(ContextLimits.timestamps.contains(now), "consume time out of range")
        guard let slot = recognisedSlot(of: id, now: now) else {
            counters.consumesOfMissing += 1
            return .missing
        }
        expiresAt = table[slot].expiresAt
        if expiresAt <= now {
            counters.consumesOfExpired += 1
            return .expired
        }
        if table[slot].isConsumed {
            counters.replaysDetected += 1
            return .alreadyConsumed
        }
        table[slot].consumedAt = now
        counters.consumed += 1
        counters.consumedLive += 1
        return .consumed
    }

    /// Verifies a request against the context and consumes it: look up,
    /// ``AshVerification/check(_:expectedBinding:proof:canonicalPayload:now:)``,
    /// check consumed, set `consumedAt` — one step, so a verification is
    /// exactly one consume among concurrent ones.
    /// - Parameter expiresAt: set to the context's `expiresAt` when it is found.
    /// - Returns: the context as consumed.
    /// - Throws: the ``AshError`` ``ContextStore/verifyInSteps(_:expectedBinding:now:)``
    ///   would throw.
    mutating func verify(
        _ id: ContextID,
        expectedBinding: String,
        proof: String?,
        canonicalPayload: Result<String, AshError>,
        now: Int64,
        expiresAt: inout Int64
    ) throws(AshError) -> AshContext {
        assert(ContextLimits.timestamps.contains(now), "verify time out of range")
        guard let slot = recognisedSlot(of: id, now: now) else {
            counters.consumesOfMissing += 1
            throw AshError(.invalidContext)
        }
        var found = context(at: slot)
        expiresAt = found.expiresAt
        do {
            try AshVerification.check(
                found, expectedBinding: expectedBinding, proof: proof, canonicalPayload: canonicalPayload, now: now)
        } catch {
            if error.code == .contextExpired { counters.consumesOfExpired += 1 }
            throw error
        }
        guard !table[slot].isConsumed else {
            counters.replaysDetected += 1
            throw AshError(.replayDetected)
        }
        table[slot].consumedAt = now
        counters.consumed += 1
        counters.consumedLive += 1
        found.consumedAt = now
        return found
    }

    /// Removes a context; its timer is left to fire and find the slot reused
    /// (generations tell them apart), which keeps delete O(1).
    mutating func delete(_ id: ContextID) -> Bool {
        var expiresAt: Int64 = 0
        return delete(id, expiresAt: &expiresAt)
    }

    /// ``delete(_:)``, also telling the `expiresAt` the context had.
    mutating func delete(_ id: ContextID, expiresAt: inout Int64) -> Bool {
        guard let slot = table.slot(of: id) else { return false }
        expiresAt = table[slot].expiresAt
        remove(at: slot)
        counters.deleted += 1
        return true
    }

    private mutating func remove(at slot: UInt32) {
        let record = table[slot]
        if record.isConsumed { counters.consumedLive -= 1 }
        bindings.release(record.binding)
        table.remove(at: slot)
    }

    // MARK: Expiry

    /// Advances the wheel to `now` and removes what expired more than the
    /// grace ago, handing each
    /// removed id and its `expiresAt` to `removed`; returns how many it
    /// removed.
    mutating func expire(upTo now: Int64, _ removed: (ContextID, Int64) -> Void) -> Int {
        var fired: [UInt64] = []
        wheel.advance(to: now) { fired.append($0) }
        var count = 0
        for timer in fired {
            let slot = UInt32(truncatingIfNeeded: timer)
            let generation = UInt32(truncatingIfNeeded: timer >> 32)
            guard Int(slot) < table.records.count else { continue }
            let record = table[slot]
            guard record.isOccupied, record.generation == generation else { continue }
            guard record.expiresAt + grace <= now else {
                // Never early: a timer that fires ahead of its record waits again.
                wheel.schedule(timer, at: record.expiresAt + grace)
                continue
            }
            removed(table.id(at: slot), record.expiresAt)
            remove(at: slot)
            count += 1
        }
        counters.expired += count
        return count
    }

    static func timer(slot: UInt32, generation: UInt32) -> UInt64 {
        UInt64(slot) | UInt64(generation) << 32
    }

    var statistics: EngineCounters {
        var statistics = counters
        statistics.live = table.count
        return statistics
    }

    func checkInvariants() {
        #if ASH_INTERNAL_CHECKS
        table.checkInvariants()
        bindings.checkInvariants()
        wheel._checkInvariants()
        let consumed = table.records.lazy.filter { $0.isOccupied && $0.isConsumed }.count
        precondition(consumed == counters.consumedLive, "consumed count drifted")
        #endif
    }
}

extension AshCompactID {
    init(words: (UInt64, UInt64)) {
        self.init(high: words.0, low: words.1)
    }
}

/// A value with no shared mutable references: recovery fills one per shard
/// and hands it whole to its shard actor. Unchecked because its
/// `AshIdentifierGenerator` is deliberately not `Sendable` (a copy would
/// repeat the random bytes it has buffered, so ids would repeat): a state
/// is moved into its actor once and never used, or copied, outside it.
/// (A `sending` initializer cannot express it: the states come out of one
/// array, which region checking treats as one value.)
extension ShardState: @unchecked Sendable {}
