import AshCore
import AshTesting
import Testing

@testable import AshEngine

/// The tagged, incrementally grown index of `ContextTable`: random
/// inserts, removals and lookups agree with a dictionary, whatever room
/// the slot numbers leave for tags (many tag bits, few, none), also while
/// entries are still moving from the old index to the new one.
@Suite struct ContextTableTests {
    @Test(arguments: [600, 70_000, Int(UInt32.max) - 1])
    func agreesWithADictionary(maximumCount: Int) {
        var random = SplitMix64(seed: UInt64(maximumCount))
        var table = ContextTable(seed: random.next(), maximumCount: maximumCount)
        var model: [AshCompactID: UInt32] = [:]
        var ids: [AshCompactID] = []
        for step in 0..<6_000 {
            if Int.random(in: 0..<10, using: &random) < 6, model.count < min(maximumCount, 500) {
                let id = AshCompactID(high: random.next(), low: random.next())
                let slot = table.insert(record(expiresAt: Int64(ids.count)), id: .compact(id), foreignNonce: nil)
                #expect(model.values.contains(slot) == false)
                model[id] = slot
                ids.append(id)
            } else if let id = ids.randomElement(using: &random), let slot = model[id] {
                #expect(table.slot(of: .compact(id)) == slot)
                table.remove(at: slot)
                model[id] = nil
                #expect(table.slot(of: .compact(id)) == nil)
            }
            let probe = ids.randomElement(using: &random) ?? AshCompactID(high: 1, low: 2)
            #expect(table.slot(of: .compact(probe)) == model[probe])
            // Also while the index grows, a few buckets per insert.
            if step % 50 == 0 { table.checkInvariants() }
        }
        for (id, slot) in model { #expect(table.slot(of: .compact(id)) == slot) }
        #expect(table.count == model.count)
        table.checkInvariants()
    }

    @Test func findsEveryIdAfterTheIndexGrows() {
        var random = SplitMix64(seed: 7)
        var table = ContextTable(seed: 99, maximumCount: 100_000)
        var slots: [AshCompactID: UInt32] = [:]
        for _ in 0..<20_000 {
            let id = AshCompactID(high: random.next(), low: random.next())
            slots[id] = table.insert(record(expiresAt: 1), id: .compact(id), foreignNonce: nil)
        }
        for (id, slot) in slots { #expect(table.slot(of: .compact(id)) == slot) }
        #expect(table.slot(of: .compact(AshCompactID(high: 3, low: 4))) == nil)
        table.checkInvariants()
    }

    private func record(expiresAt: Int64) -> StoredRecord {
        var record = StoredRecord.vacant
        record.expiresAt = expiresAt
        return record
    }

    /// The index grows through several doublings, its next index zeroed
    /// ahead from 11/16 full, while the live count also falls back below
    /// that (removals): every id stays reachable, and the invariants (the
    /// next index all empty, the old one accounted for) hold throughout.
    @Test func theIndexGrowsWhileItsNextIndexIsPreparedAndTheCountFallsBack() {
        var random = SplitMix64(seed: 3)
        var table = ContextTable(seed: 17, maximumCount: 1_000_000)
        var live: [AshCompactID: UInt32] = [:]
        var order: [AshCompactID] = []
        // With 16,384 buckets the next index is prepared from 11,264 live
        // ids, and replaces the index at 12,288; with 32,768, from 22,528 to
        // 24,576.
        for target in [11_500, 10_000, 11_800, 11_000, 30_000, 20_000, 23_000, 22_000, 25_000] {
            while live.count != target {
                if live.count > target, let id = order.popLast(), let slot = live.removeValue(forKey: id) {
                    table.remove(at: slot)
                } else {
                    let id = AshCompactID(high: random.next(), low: random.next())
                    live[id] = table.insert(record(expiresAt: 1), id: .compact(id), foreignNonce: nil)
                    order.append(id)
                }
                if live.count % 499 == 0 { table.checkInvariants() }
            }
            table.checkInvariants()
        }
        for (id, slot) in live { #expect(table.slot(of: .compact(id)) == slot) }
        #expect(table.count == live.count)
    }
}
