import AshEngine
import Testing

extension TimerWheel where Element: Comparable {
    /// Advances to `instant`, checks the invariants, and returns what fired, sorted.
    mutating func advanceCollecting(to instant: Int64) -> [Element] {
        var fired: [Element] = []
        advance(to: instant) { fired.append($0) }
        _checkInvariants()
        return fired.sorted()
    }
}

/// A wheel shape and a starting instant.
struct WheelShape: Sendable, CustomTestStringConvertible {
    var tick: Int64
    var slots: Int
    var levels: Int
    var start: Int64

    var testDescription: String { "tick \(tick) ms, \(slots) slots, \(levels) levels, start \(start)" }

    func makeWheel<Element>(of: Element.Type = Element.self) -> TimerWheel<Element> {
        TimerWheel(now: start, tickMilliseconds: tick, slotsPerLevel: slots, levels: levels)
    }

    /// The first tick boundary at or after `deadline`.
    func fireBoundary(of deadline: Int64) -> Int64 {
        let (quotient, remainder) = deadline.quotientAndRemainder(dividingBy: tick)
        return (remainder > 0 ? quotient + 1 : quotient) * tick
    }

    /// The last tick boundary at or before `instant`.
    func boundary(atOrBefore instant: Int64) -> Int64 {
        let (quotient, remainder) = instant.quotientAndRemainder(dividingBy: tick)
        return (remainder < 0 ? quotient - 1 : quotient) * tick
    }

    static let all: [WheelShape] = [
        WheelShape(tick: 10, slots: 256, levels: 4, start: 0),
        WheelShape(tick: 10, slots: 256, levels: 4, start: 1_700_000_000_123),
        WheelShape(tick: 1, slots: 4, levels: 3, start: 0),
        WheelShape(tick: 1, slots: 4, levels: 3, start: 37),
        WheelShape(tick: 7, slots: 16, levels: 2, start: -1_000),
        WheelShape(tick: 3, slots: 2, levels: 5, start: 12_345),
    ]
}

@Suite struct TimerWheelTests {
    @Test func firesAtTheFirstTickBoundaryAtOrAfterTheDeadline() {
        var wheel = TimerWheel<Int>(now: 0)
        wheel.schedule(1, at: 15)
        wheel.schedule(2, at: 20)
        wheel.schedule(3, at: 21)
        #expect(wheel.count == 3)
        #expect(wheel.advanceCollecting(to: 19) == [])
        #expect(wheel.advanceCollecting(to: 20) == [1, 2])
        #expect(wheel.advanceCollecting(to: 29) == [])
        #expect(wheel.advanceCollecting(to: 30) == [3])
        #expect(wheel.isEmpty)
        #expect(wheel.now == 30)
    }

    /// Deadlines one ms before, at and after the span of every level (and of
    /// the overflow), measured from the start and from its tick boundary; each
    /// is reached once by a direct jump and once by a driver that sleeps until
    /// `nextDeadline`.
    @Test(arguments: WheelShape.all)
    func levelBoundaries(_ shape: WheelShape) throws {
        var span: Int64 = 1
        var deadlines: [Int64] = []
        for _ in 0...shape.levels + 1 {
            for origin in [shape.start, shape.boundary(atOrBefore: shape.start)] {
                for delta: Int64 in [-1, 0, 1] {
                    deadlines.append(origin + span * shape.tick + delta)
                    deadlines.append(origin + span * shape.tick - shape.tick + delta)
                }
            }
            span *= Int64(shape.slots)
        }
        for deadline in deadlines {
            // At or before the start it waits in the due list for the first advance.
            let fireAt = deadline <= shape.start ? shape.start : shape.fireBoundary(of: deadline)
            var direct: TimerWheel<Int64> = shape.makeWheel()
            direct.schedule(deadline, at: deadline)
            let hint = try #require(direct.nextDeadline)
            #expect(hint <= fireAt, "deadline \(deadline)")
            if fireAt > shape.start {
                #expect(direct.advanceCollecting(to: fireAt - 1) == [], "deadline \(deadline) fired early")
            }
            #expect(direct.advanceCollecting(to: fireAt) == [deadline], "deadline \(deadline) did not fire")

            var driven: TimerWheel<Int64> = shape.makeWheel()
            driven.schedule(deadline, at: deadline)
            var wakeUps = 0
            while let next = driven.nextDeadline {
                #expect(next <= fireAt, "deadline \(deadline): nextDeadline \(next) is past it")
                let fired = driven.advanceCollecting(to: max(next, driven.now))
                #expect(fired.isEmpty || driven.now == fireAt, "deadline \(deadline) fired at \(driven.now)")
                wakeUps += 1
                try #require(wakeUps <= shape.levels + 2, "deadline \(deadline): too many wake-ups")
            }
            #expect(driven.now == fireAt)
        }
    }

    @Test func cascadesFromTheTopLevelDown() {
        // 1 ms ticks, 4 slots, 3 levels: tick 63 has digits (3, 3, 3).
        var wheel = TimerWheel<Int>(now: 0, tickMilliseconds: 1, slotsPerLevel: 4, levels: 3)
        wheel.schedule(63, at: 63)
        wheel.schedule(50, at: 50)
        #expect(wheel.nextDeadline == 48)  // level 2, slot 3 starts at tick 48
        #expect(wheel.advanceCollecting(to: 48) == [])
        #expect(wheel.nextDeadline == 50)  // 50 moved to level 0, 63 to level 1
        #expect(wheel.advanceCollecting(to: 50) == [50])
        #expect(wheel.nextDeadline == 60)  // level 1, slot 3
        #expect(wheel.advanceCollecting(to: 60) == [])
        #expect(wheel.nextDeadline == 63)
        #expect(wheel.advanceCollecting(to: 62) == [])
        #expect(wheel.advanceCollecting(to: 63) == [63])
        #expect(wheel.nextDeadline == nil)
    }

    /// The worked example in `TimerWheel`'s documentation.
    @Test func documentedExample() {
        var wheel = TimerWheel<Int64>(now: 135, tickMilliseconds: 10, slotsPerLevel: 4, levels: 3)
        for deadline: Int64 in [130, 140, 155, 215, 900] { wheel.schedule(deadline, at: deadline) }
        #expect(wheel.advanceCollecting(to: 163) == [130, 140, 155])
        #expect(wheel.nextDeadline == 200)  // 215 moved to level 1, slot 1: ticks 20...23
        #expect(wheel.advanceCollecting(to: 219) == [])
        #expect(wheel.advanceCollecting(to: 220) == [215])
        #expect(wheel.nextDeadline == 900)  // the overflow's earliest
        #expect(wheel.advanceCollecting(to: 640) == [])  // epoch 1: 900 moves to level 2, slot 1
        #expect(wheel.nextDeadline == 800)
        #expect(wheel.advanceCollecting(to: 899) == [])
        #expect(wheel.advanceCollecting(to: 900) == [900])
    }

    @Test func crossesEpochsAndDrainsTheOverflow() {
        // 64-tick epochs: 70 and 200 start in the overflow.
        var wheel = TimerWheel<Int>(now: 10, tickMilliseconds: 1, slotsPerLevel: 4, levels: 3)
        for deadline in [20, 63, 64, 70, 127, 128, 200] { wheel.schedule(deadline, at: Int64(deadline)) }
        #expect(wheel.advanceCollecting(to: 63) == [20, 63])
        #expect(wheel.nextDeadline == 64)
        #expect(wheel.advanceCollecting(to: 64) == [64])
        #expect(wheel.advanceCollecting(to: 127) == [70, 127])
        #expect(wheel.advanceCollecting(to: 199) == [128])
        #expect(wheel.advanceCollecting(to: 10_000) == [200])
    }

    @Test func veryLongTimeToLives() {
        let shape = WheelShape(tick: 10, slots: 256, levels: 4, start: 1_700_000_000_007)
        let start = shape.start
        let day: Int64 = 86_400_000
        var wheel: TimerWheel<Int64> = shape.makeWheel()
        let deadlines: [Int64] = [
            start + 3 * day, start + 30 * day + 1, start + 400 * day + 9, start + 497 * day,
            start + 498 * day, start + 600 * day + 3, start + 3_653 * day + 5, .max - 7,
        ]
        for deadline in deadlines { wheel.schedule(deadline, at: deadline) }
        for deadline in deadlines {
            let fireAt = shape.fireBoundary(of: deadline)
            #expect(wheel.advanceCollecting(to: fireAt - 1) == [], "\(deadline) fired early")
            #expect(wheel.advanceCollecting(to: fireAt) == [deadline], "\(deadline) did not fire")
        }
        #expect(wheel.isEmpty)
    }

    @Test func deadlinesAtTheEndOfTime() {
        var wheel = TimerWheel<Int>(now: 0)
        wheel.schedule(1, at: .max)  // its boundary lies beyond Int64.max
        #expect(wheel.advanceCollecting(to: .max) == [])
        #expect(wheel.count == 1)
        #expect(wheel.nextDeadline == .max)

        var fine = TimerWheel<Int>(now: 0, tickMilliseconds: 1)  // here Int64.max is a boundary
        fine.schedule(2, at: .max)
        #expect(fine.advanceCollecting(to: .max - 1) == [])
        #expect(fine.advanceCollecting(to: .max) == [2])
    }

    @Test func freedNodesAreReused() {
        var wheel = TimerWheel<Int>(now: 0)
        wheel.schedule(1, at: 100)
        #expect(wheel.advanceCollecting(to: 100) == [1])
        wheel.schedule(2, at: 200)  // reuses the node
        #expect(wheel.count == 1)
        #expect(wheel.advanceCollecting(to: 200) == [2])
    }

    @Test func pastDeadlinesFireOnTheNextAdvance() {
        var wheel = TimerWheel<Int>(now: 1_005)
        wheel.schedule(1, at: 1_005)  // at now, between boundaries
        wheel.schedule(2, at: 5)
        wheel.schedule(3, at: .min)
        wheel.schedule(4, at: 1_006)  // after now: waits for the boundary at 1,010
        let hint = wheel.nextDeadline
        #expect(hint.map { $0 <= 1_005 } == true)
        #expect(wheel.advanceCollecting(to: 1_005) == [1, 2, 3])
        #expect(wheel.nextDeadline == 1_010)
        #expect(wheel.advanceCollecting(to: 1_009) == [])
        #expect(wheel.advanceCollecting(to: 1_010) == [4])
    }

    @Test func bigClockJumpsFireEverythingDueAndNothingEarly() {
        let shape = WheelShape(tick: 10, slots: 256, levels: 4, start: 1_700_000_000_007)
        var wheel: TimerWheel<Int> = shape.makeWheel()
        var deadlines: [Int: Int64] = [:]
        let horizon: Int64 = 40 * 86_400_000
        for id in 0..<2_000 {
            let deadline = shape.start + 1 + Int64(id) * 7_919_113 % horizon
            deadlines[id] = deadline
            wheel.schedule(id, at: deadline)
        }
        var now = shape.start
        for jump: Int64 in [0, 1, 3_600_000, 86_400_000, 10 * 86_400_000, 30 * 86_400_000] {
            now += jump
            let fired = wheel.advanceCollecting(to: now)
            let boundary = shape.boundary(atOrBefore: now)
            let due = deadlines.filter { $0.value <= boundary }.keys.sorted()
            #expect(fired == due, "jump \(jump)")
            for id in due { deadlines[id] = nil }
            #expect(wheel.count == deadlines.count)
        }
        #expect(wheel.isEmpty)
    }

    @Test func advancingBackwardsChangesNothing() {
        var wheel = TimerWheel<Int>(now: 1_000)
        wheel.schedule(1, at: 500)
        wheel.schedule(2, at: 2_000)
        #expect(wheel.advanceCollecting(to: 999) == [])
        #expect(wheel.advanceCollecting(to: .min) == [])
        #expect(wheel.now == 1_000)
        #expect(wheel.count == 2)
        #expect(wheel.advanceCollecting(to: 1_000) == [1])
        #expect(wheel.advanceCollecting(to: 2_000) == [2])
    }

    @Test func nextDeadlineIsTheEarliestBoundaryThatMayFire() {
        var wheel = TimerWheel<Int>(now: 0)
        #expect(wheel.nextDeadline == nil)
        wheel.schedule(1, at: 3_000)  // tick 300: level 1, slot 1 starts at tick 256
        #expect(wheel.nextDeadline == 2_560)
        wheel.schedule(2, at: 25)
        #expect(wheel.nextDeadline == 30)
        wheel.schedule(3, at: -1)
        #expect(wheel.nextDeadline == 0)
        #expect(wheel.advanceCollecting(to: 0) == [3])
        #expect(wheel.nextDeadline == 30)
        #expect(wheel.advanceCollecting(to: 30) == [2])
        #expect(wheel.nextDeadline == 2_560)
        #expect(wheel.advanceCollecting(to: 3_000) == [1])
        #expect(wheel.nextDeadline == nil)
    }

    @Test func nextDeadlineStaysAheadAfterTheOverflowEmpties() {
        // 16-tick epochs.
        var wheel = TimerWheel<Int>(now: 0, tickMilliseconds: 1, slotsPerLevel: 4, levels: 2)
        wheel.schedule(1, at: 20)
        #expect(wheel.nextDeadline == 20)
        #expect(wheel.advanceCollecting(to: 40) == [1])
        wheel.schedule(2, at: 100)
        #expect(wheel.nextDeadline == 100)
        wheel.schedule(3, at: 70)
        #expect(wheel.nextDeadline == 70)
        #expect(wheel.advanceCollecting(to: 70) == [3])
        #expect(wheel.nextDeadline.map { $0 > 40 && $0 <= 100 } == true)
        #expect(wheel.advanceCollecting(to: 100) == [2])
    }

    @Test func removeAllForgetsEveryTimer() {
        for keepCapacity in [false, true] {
            var wheel = TimerWheel<Int>(now: 0)
            for value in 0..<10 { wheel.schedule(value, at: Int64(value) * 1_000_000) }
            wheel.removeAll(keepingCapacity: keepCapacity)
            #expect(wheel.isEmpty)
            #expect(wheel.nextDeadline == nil)
            wheel.schedule(99, at: 10)
            #expect(wheel.advanceCollecting(to: 10_000_000_000) == [99])
        }
    }

    @Test func reservingCapacityKeepsBehaviour() {
        var wheel = TimerWheel<UInt32>(now: 0)
        wheel.reserveCapacity(1_000)
        for id in 0..<1_000 { wheel.schedule(UInt32(id), at: Int64(id)) }
        #expect(wheel.advanceCollecting(to: 10_000).count == 1_000)
    }

    @Test func aTimerCostsTwelveBytesPlusItsElement() {
        #expect(TimerWheel<UInt32>._nodeStride == 16)
        #expect(TimerWheel<UInt64>._nodeStride == 24)
    }
}
