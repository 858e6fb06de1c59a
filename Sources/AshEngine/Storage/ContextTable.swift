import AshCore

/// The records of one shard: a slab of fixed-size ``StoredRecord``s and an
/// open-addressing index over it.
///
/// Canonical ids are found through `index`, a power-of-two array of slot
/// numbers (+1; 0 marks an empty bucket) probed linearly from a seeded hash
/// of the id, kept at most 3/4 full; removal shifts later entries back
/// (Knuth 6.4, Algorithm R), so there are no tombstones. Foreign ids, rare,
/// live in dictionaries beside it. Freed slots are reused last-in first-out.
///
/// The bits of an index entry above those its slot numbers need (the table
/// never holds more than `maximumCount` records) carry a *tag*: the top bits
/// of the id's hash. A lookup reads a record, a likely cache miss in a large
/// table, only for entries whose tag matches: with 8 or more tag bits, about
/// one record per lookup instead of one per probe.
///
/// The index grows incrementally (``IndexMigration``): a few buckets of
/// the old index move to the new one per insert, so no insert pays for
/// rehashing millions of entries, nor for zeroing the new index's
/// buckets: from 11/16 full on, each insert zeroes a few of them ahead
/// (`IndexGrowth.preparing`), so the index that takes over at 3/4 is ready. The
/// records and the free slots grow as arrays do until they are large, then
/// once to `maximumCount` (see `Array.append(_:reservingAheadUpTo:)`), so
/// no insert past that pays for copying them either.
///
/// A value type owned by one shard; not thread-safe.
struct ContextTable {
    private(set) var records: [StoredRecord] = []
    private var freeSlots: [UInt32] = []
    private var index: [UInt32]
    private var mask: Int
    /// Entries in `index` (not counting those still in `migration`).
    private var indexCount = 0
    /// The index's growth under way, if any: the previous index while its
    /// entries move, or the next index while its buckets are zeroed. One
    /// stored property for both (they never overlap): every reference the
    /// table holds is retained and released when a shard copies its state,
    /// and a second one measurably slowed every engine call (about 6%).
    private var growth: IndexGrowth?
    /// The previous index, while `index` grows.
    private var migration: IndexMigration? {
        if case .migrating(let migration)? = growth { migration } else { nil }
    }
    /// The most records the table holds: how far the records and the free
    /// slots reserve ahead once they are large.
    private let maximumCount: Int
    private let seed: UInt64
    /// The low bits of an entry: the slot + 1. The rest is the tag.
    private let slotMask: UInt32
    private var foreignSlotById: [String: UInt32] = [:]
    private var foreignIdBySlot: [UInt32: String] = [:]
    private var foreignNonceBySlot: [UInt32: String] = [:]

    /// Live records.
    private(set) var count = 0

    /// A table for at most `maximumCount` records.
    init(seed: UInt64, maximumCount: Int, minimumCapacity: Int = 0) {
        precondition(maximumCount > 0 && maximumCount < Int(UInt32.max), "a table holds 1...\(UInt32.max - 1) records")
        self.seed = seed | 1
        self.maximumCount = maximumCount
        // Entries run from 1 to maximumCount; whatever bits that leaves free hold the tag.
        let slotBits = UInt32.bitWidth - UInt32(maximumCount).leadingZeroBitCount
        slotMask = slotBits == UInt32.bitWidth ? .max : (1 << slotBits) - 1
        let buckets = Self.bucketCount(for: minimumCapacity)
        index = [UInt32](repeating: 0, count: buckets)
        mask = buckets - 1
        records.reserveCapacity(minimumCapacity)
    }

    private static func bucketCount(for capacity: Int) -> Int {
        var buckets = 16
        while buckets * 3 / 4 < capacity { buckets *= 2 }
        return buckets
    }

    @inline(__always)
    private func hash(of id: AshCompactID) -> UInt64 {
        var hash = (id.high ^ seed) &* 0x9E37_79B9_7F4A_7C15 ^ id.low
        hash ^= hash >> 29
        hash = hash &* 0xBF58_476D_1CE4_E5B9
        hash ^= hash >> 32
        return hash
    }

    /// The home bucket of a hash (its low bits).
    @inline(__always)
    private func bucket(ofHash hash: UInt64) -> Int {
        Int(truncatingIfNeeded: hash) & mask
    }

    /// The tag of a hash: the bits of its high half above the slot bits
    /// (buckets come from the low half); zero when slots need every bit.
    @inline(__always)
    private func tag(ofHash hash: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: hash >> 32) & ~slotMask
    }

    @inline(__always)
    private func entry(slot: UInt32, hash: UInt64) -> UInt32 {
        (slot + 1) | tag(ofHash: hash)
    }

    /// The slot of a non-empty entry.
    @inline(__always)
    private func slot(ofEntry entry: UInt32) -> UInt32 {
        (entry & slotMask) - 1
    }

    /// The slot holding `id`, if any.
    /// - Complexity: O(1) on average.
    func slot(of id: ContextID) -> UInt32? {
        switch id {
        case .compact(let compact):
            let idHash = hash(of: compact)
            if let slot = probe(index, mask: mask, from: bucket(ofHash: idHash), for: compact, hash: idHash) {
                return slot
            }
            guard let migration else { return nil }
            let home = Int(truncatingIfNeeded: idHash) & migration.mask
            return probe(
                migration.buckets, mask: migration.mask, from: migration.probeStart(home: home), for: compact,
                hash: idHash)
        case .foreign(let text):
            return foreignSlotById[text]
        }
    }

    /// The slot of `id` among `buckets`, probing from `start` to the first
    /// empty bucket.
    @inline(__always)
    private func probe(_ buckets: [UInt32], mask: Int, from start: Int, for id: AshCompactID, hash: UInt64) -> UInt32? {
        let tag = tag(ofHash: hash)
        var position = start
        while true {
            let entry = buckets[position]
            if entry == 0 { return nil }
            if entry & ~slotMask == tag, records[Int(slot(ofEntry: entry))].id == id { return slot(ofEntry: entry) }
            position = (position + 1) & mask
        }
    }

    subscript(slot: UInt32) -> StoredRecord {
        get { records[Int(slot)] }
        _modify { yield &records[Int(slot)] }
    }

    /// The id of the record in `slot`.
    func id(at slot: UInt32) -> ContextID {
        let record = records[Int(slot)]
        if record.flags.contains(.foreignId) { return .foreign(foreignIdBySlot[slot]!) }
        return .compact(record.id)
    }

    /// The nonce of the record in `slot`.
    func nonce(at slot: UInt32) -> String? {
        let record = records[Int(slot)]
        if record.flags.contains(.compactNonce) { return record.nonce.description }
        if record.flags.contains(.foreignNonce) { return foreignNonceBySlot[slot] }
        return nil
    }

    /// Inserts a record for an id that is not present; returns its slot.
    /// - Complexity: O(1) amortized.
    mutating func insert(_ record: StoredRecord, id: ContextID, foreignNonce: String?) -> UInt32 {
        if case .compact = id {
            var migrating = 0
            if case .migrating = growth {
                migrateBuckets(Self.bucketsMovedPerInsert)
                if case .migrating(let migration)? = growth { migrating = migration.count }
            }
            let entries = indexCount + migrating + 1
            if entries * 16 > index.count * 11 { prepareNextIndex(Self.bucketsZeroedPerInsert) }
            if entries * 4 > index.count * 3 { growIndex() }
        }
        var record = record
        record.flags.insert(.occupied)
        let slot: UInt32
        if let reused = freeSlots.popLast() {
            slot = reused
            record.generation = records[Int(slot)].generation &+ 1
            records[Int(slot)] = record
        } else {
            slot = UInt32(records.count)
            record.generation = 0
            records.append(record, reservingAheadUpTo: maximumCount)
        }
        switch id {
        case .compact(let compact):
            records[Int(slot)].id = compact
            let idHash = hash(of: compact)
            placeInIndex(entry(slot: slot, hash: idHash), hash: idHash)
            indexCount += 1
        case .foreign(let text):
            records[Int(slot)].flags.insert(.foreignId)
            records[Int(slot)].id = AshCompactID(high: 0, low: 0)
            foreignSlotById[text] = slot
            foreignIdBySlot[slot] = text
        }
        if let foreignNonce {
            records[Int(slot)].flags.insert(.foreignNonce)
            foreignNonceBySlot[slot] = foreignNonce
        }
        count += 1
        return slot
    }

    /// Removes the record in `slot` and frees the slot.
    /// - Complexity: O(1) on average.
    mutating func remove(at slot: UInt32) {
        let record = records[Int(slot)]
        precondition(record.isOccupied, "removing a vacant slot")
        if record.flags.contains(.foreignId) {
            let text = foreignIdBySlot.removeValue(forKey: slot)!
            foreignSlotById.removeValue(forKey: text)
        } else {
            removeFromIndex(record.id, slot: slot)
        }
        if record.flags.contains(.foreignNonce) { foreignNonceBySlot.removeValue(forKey: slot) }
        var vacant = StoredRecord.vacant
        vacant.generation = record.generation
        records[Int(slot)] = vacant
        freeSlots.append(slot, reservingAheadUpTo: maximumCount)
        count -= 1
    }

    /// Puts `entry`, of an id hashing to `hash`, in the first free bucket of
    /// `index` from its home.
    private mutating func placeInIndex(_ entry: UInt32, hash: UInt64) {
        var position = bucket(ofHash: hash)
        while index[position] != 0 { position = (position + 1) & mask }
        index[position] = entry
    }

    private mutating func removeFromIndex(_ id: AshCompactID, slot: UInt32) {
        let idHash = hash(of: id)
        let removed = entry(slot: slot, hash: idHash)
        if let hole = position(of: removed, in: index, mask: mask, from: bucket(ofHash: idHash)) {
            // Out of `self` while shifting, which reads the records.
            var buckets: [UInt32] = []
            swap(&buckets, &index)
            removeEntry(at: hole, from: &buckets, mask: mask)
            swap(&buckets, &index)
            indexCount -= 1
            return
        }
        guard case .migrating(var old)? = growth.take() else {
            preconditionFailure("an indexed record missing from the index")
        }
        let home = Int(truncatingIfNeeded: idHash) & old.mask
        let hole = position(of: removed, in: old.buckets, mask: old.mask, from: old.probeStart(home: home))!
        removeEntry(at: hole, from: &old.buckets, mask: old.mask)
        old.count -= 1
        growth = .migrating(old)
    }

    /// Where `entry` is among `buckets`, probing from `start`.
    private func position(of entry: UInt32, in buckets: [UInt32], mask: Int, from start: Int) -> Int? {
        var position = start
        while buckets[position] != entry {
            if buckets[position] == 0 { return nil }
            position = (position + 1) & mask
        }
        return position
    }

    /// Empties bucket `hole`, shifting back every later entry of its probe
    /// run that may move into it (Knuth 6.4, Algorithm R).
    private func removeEntry(at hole: Int, from buckets: inout [UInt32], mask: Int) {
        var hole = hole
        var position = hole
        while true {
            position = (position + 1) & mask
            let entry = buckets[position]
            if entry == 0 { break }
            let home = Int(truncatingIfNeeded: hash(of: records[Int(self.slot(ofEntry: entry))].id)) & mask
            // The entry may fill the hole unless its home lies cyclically in (hole, position].
            let homeIsBetween = hole <= position ? (hole < home && home <= position) : (hole < home || home <= position)
            if !homeIsBetween {
                buckets[hole] = entry
                hole = position
            }
        }
        buckets[hole] = 0
    }

    /// Buckets of the old index moved per insert while the index grows: a
    /// doubling from 3/4 full finishes after at most half the old bucket
    /// count in inserts, with the new index at most 5/8 full.
    private static let bucketsMovedPerInsert = 2

    /// Buckets of the next index zeroed per insert from 11/16 full on: its
    /// twice as many buckets are ready after 1/32 of `index`'s bucket count
    /// in inserts, before the 1/16 that bring it to 3/4. (From 11/16 full,
    /// any move from the previous index is over: it takes 1/4 of the bucket
    /// count in inserts, from 3/8 full.)
    private static let bucketsZeroedPerInsert = 64

    /// Zeroes up to `limit` more buckets of the next index. Its storage is
    /// reserved at once but not written (fresh pages cost nothing until
    /// touched), so each call costs what it zeroes.
    private mutating func prepareNextIndex(_ limit: Int) {
        let size = index.count * 2
        var next: [UInt32] = []
        switch growth.take() {
        case .preparing(let prepared)?:
            next = prepared
        case .migrating(let migration)?:
            // Not before the move is over (`insert` and `growIndex` see to it).
            growth = .migrating(migration)
            return
        case nil:
            next.reserveCapacity(size)
        }
        // Taken out of `growth`, so the append writes in place.
        next.append(contentsOf: repeatElement(0, count: min(limit, size - next.count)))
        growth = .preparing(next)
    }

    /// Starts moving the entries to an index twice the size (finishing a
    /// move in progress first, and the next index's zeroing, normally done).
    private mutating func growIndex() {
        if migration != nil { migrateBuckets(.max) }
        prepareNextIndex(.max)
        guard case .preparing(var old)? = growth.take() else { preconditionFailure("the next index was prepared") }
        swap(&old, &index)
        mask = index.count - 1
        growth = .migrating(IndexMigration(buckets: old, count: indexCount))
        indexCount = 0
    }

    /// Moves up to `limit` buckets of the old index to the new one.
    private mutating func migrateBuckets(_ limit: Int) {
        guard case .migrating(var old)? = growth.take() else { return }
        var moved = 0
        while moved < limit, !old.isFinished {
            let entry = old.takeNext()
            if entry != 0 {
                placeInIndex(entry, hash: hash(of: records[Int(slot(ofEntry: entry))].id))
                indexCount += 1
            }
            moved += 1
        }
        if !old.isFinished { growth = .migrating(old) }
    }

    /// Makes room for `additional` more records without growing again.
    /// - Complexity: O(*n*) when the index has to grow.
    mutating func reserveCapacity(additional: Int) {
        records.reserveCapacity(count + additional)
        if migration != nil { migrateBuckets(.max) }
        let buckets = Self.bucketCount(for: indexCount + additional)
        guard buckets > index.count else { return }
        index = [UInt32](repeating: 0, count: buckets)
        growth = nil
        mask = buckets - 1
        for (slot, record) in records.enumerated() where record.isOccupied && !record.flags.contains(.foreignId) {
            let idHash = hash(of: record.id)
            placeInIndex(entry(slot: UInt32(slot), hash: idHash), hash: idHash)
        }
    }

    func checkInvariants() {
        #if ASH_INTERNAL_CHECKS
        var occupied = 0
        var compactCount = 0
        for (slot, record) in records.enumerated() where record.isOccupied {
            occupied += 1
            let id = self.id(at: UInt32(slot))
            precondition(self.slot(of: id) == UInt32(slot), "record \(slot) is not reachable by its id")
            if case .compact = id { compactCount += 1 }
        }
        precondition(occupied == count && occupied + freeSlots.count == records.count, "slot accounting")
        if let migration {
            precondition(migration.buckets.filter { $0 != 0 }.count == migration.count, "old index accounting")
        }
        precondition(index.filter { $0 != 0 }.count == indexCount, "index accounting")
        if case .preparing(let next)? = growth {
            precondition(next.count <= 2 * index.count && next.allSatisfy { $0 == 0 }, "next index not empty")
        }
        precondition(compactCount == indexCount + (migration?.count ?? 0), "every canonical id indexed once")
        precondition(foreignSlotById.count == foreignIdBySlot.count, "foreign id maps disagree")
        #endif
    }
}

/// How a ``ContextTable``'s index is growing.
enum IndexGrowth {
    /// The previous index, whose entries move into the current one.
    case migrating(IndexMigration)
    /// The next index, twice the current one's size, zeroed a few buckets
    /// per insert from 11/16 full (zeroing 16,777,216 buckets, 64 MB, at
    /// once takes about 50 ms); it takes over at 3/4.
    case preparing([UInt32])
}
