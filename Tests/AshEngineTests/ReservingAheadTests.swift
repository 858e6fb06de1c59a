import AshCore
import AshTesting
import Testing

@testable import AshEngine

/// Large arrays of the engine grow once to their limit instead of doubling,
/// so no insert past the threshold copies them.
@Suite struct ReservingAheadTests {
    private let threshold = [Int].reservingAheadThreshold

    @Test func belowTheThresholdAnArrayGrowsAsUsual() {
        var array: [Int] = []
        for value in 0..<1_000 { array.append(value, reservingAheadUpTo: 1_000_000) }
        #expect(array == Array(0..<1_000))
        #expect(array.capacity < 4_096)
    }

    @Test func pastTheThresholdItGrowsOnceToTheLimit() {
        var array: [Int] = []
        for value in 0..<threshold { array.append(value, reservingAheadUpTo: 1_000_000) }
        array.reserveCapacity(threshold)
        #expect(array.capacity >= threshold)
        // Full at the threshold (or not: either way, one growth to the limit).
        while array.count < array.capacity { array.append(array.count, reservingAheadUpTo: 1_000_000) }
        array.append(array.count, reservingAheadUpTo: 1_000_000)
        #expect(array.capacity >= 1_000_000)
        let storage = array.withUnsafeBufferPointer { $0.baseAddress }
        while array.count < 1_000_000 { array.append(array.count, reservingAheadUpTo: 1_000_000) }
        // Filled to the limit without moving.
        #expect(array.withUnsafeBufferPointer { $0.baseAddress } == storage)
        #expect(array.last == 999_999 && array[threshold] == threshold)
    }

    @Test func atOrBeyondTheLimitItDoublesAsUsual() {
        var array = [Int](0..<threshold)
        array.reserveCapacity(threshold)
        while array.count < array.capacity { array.append(0) }
        let full = array.count
        array.append(1, reservingAheadUpTo: full)
        #expect(array.capacity >= full + 1)
        #expect(array.count == full + 1 && array.last == 1)
    }

    @Test func aLargeTableReservesItsRecordsAndFreeSlotsOnce() {
        var random = SplitMix64(seed: 11)
        let maximum = 3 * threshold
        var table = ContextTable(seed: 5, maximumCount: maximum)
        var slots: [UInt32] = []
        // Up to the first time the records are full at or past the
        // threshold (an array's capacity is what the allocator gave it),
        // then one more: that insert reserves.
        while table.records.count < threshold || table.records.count < table.records.capacity {
            let id = AshCompactID(high: random.next(), low: random.next())
            slots.append(table.insert(vacantRecord(), id: .compact(id), foreignNonce: nil))
        }
        let id = AshCompactID(high: random.next(), low: random.next())
        slots.append(table.insert(vacantRecord(), id: .compact(id), foreignNonce: nil))
        #expect(table.records.capacity >= maximum)
        let storage = table.records.withUnsafeBufferPointer { $0.baseAddress }
        while slots.count < maximum {
            let id = AshCompactID(high: random.next(), low: random.next())
            slots.append(table.insert(vacantRecord(), id: .compact(id), foreignNonce: nil))
        }
        #expect(table.count == maximum)
        #expect(table.records.withUnsafeBufferPointer { $0.baseAddress } == storage)
        for slot in slots { table.remove(at: slot) }
        #expect(table.count == 0)
        table.checkInvariants()
    }

    @Test func aLargeWheelReservesItsPoolOnce() {
        var wheel = TimerWheel<Int>(now: 0, maximumCount: 3 * threshold)
        for value in 0...threshold { wheel.schedule(value, at: Int64(value % 1_000)) }
        #expect(wheel.nodes.capacity >= 3 * threshold)
        var fired = 0
        wheel.advance(to: 1_000) { _ in fired += 1 }
        #expect(fired == threshold + 1 && wheel.isEmpty)
    }

    private func vacantRecord() -> StoredRecord {
        var record = StoredRecord.vacant
        record.expiresAt = 1
        return record
    }
}
