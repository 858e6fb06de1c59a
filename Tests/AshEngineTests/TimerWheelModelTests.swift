import AshEngine
import AshTesting
import Testing

/// One randomized run: a wheel shape and a seed.
struct WheelModelRun: Sendable, CustomTestStringConvertible {
    var shape: WheelShape
    var seed: UInt64

    var testDescription: String { "\(shape.testDescription), seed \(seed)" }

    static let all: [WheelModelRun] = WheelShape.all.enumerated().flatMap { number, shape in
        [UInt64(0x5EED), 0xC0FFEE].map { WheelModelRun(shape: shape, seed: $0 &+ UInt64(number)) }
    }
}

/// Random schedules and advances, checked after each step against
/// a dictionary of what should be pending.
@Suite struct TimerWheelModelTests {

    struct Pending {
        var deadline: Int64
        /// Scheduled at or before the wheel's `now`: fires on the next advance.
        var overdue: Bool
    }

    /// The wheel under test, the model, and the random source.
    struct Harness {
        let shape: WheelShape
        var rng: SplitMix64
        var wheel: TimerWheel<Int>
        var model: [Int: Pending] = [:]
        /// The ids in `model`, in a deterministic order for random picks.
        var live: [Int] = []
        var position: [Int: Int] = [:]
        var nextID = 0

        init(_ run: WheelModelRun) {
            shape = run.shape
            rng = SplitMix64(seed: run.seed)
            wheel = run.shape.makeWheel()
        }

        /// The span of `level` in ticks (`levels` is one epoch).
        func span(ofLevel level: Int) -> Int64 {
            var span: Int64 = 1
            for _ in 0...level { span *= Int64(shape.slots) }
            return span
        }

        mutating func randomDeadline() -> Int64 {
            let now = wheel.now
            let tick = shape.tick
            switch Int.random(in: 0..<100, using: &rng) {
            case 0..<8:
                return now - Int64.random(in: 0...1_000, using: &rng)
            case 8..<20:
                let boundary = shape.boundary(atOrBefore: now) + Int64.random(in: 0...3, using: &rng) * tick
                return boundary + Int64.random(in: -1...1, using: &rng)
            case 20..<23:
                return now + Int64.random(in: 1...(10 * span(ofLevel: shape.levels - 1) * tick), using: &rng)
            default:
                let level = Int.random(in: 0..<shape.levels, using: &rng)
                return now + Int64.random(in: 1...(2 * span(ofLevel: level) * tick), using: &rng)
            }
        }

        mutating func randomInstant() -> Int64 {
            let now = wheel.now
            let tick = shape.tick
            switch Int.random(in: 0..<100, using: &rng) {
            case 0..<8:
                return now - Int64.random(in: 1...1_000, using: &rng)
            case 8..<20:
                return now
            case 20..<50:
                return now + Int64.random(in: 0..<(3 * tick), using: &rng)
            case 50..<75:
                let level = Int.random(in: 0..<shape.levels, using: &rng)
                return now + Int64.random(in: 0...(span(ofLevel: level) * tick), using: &rng)
            case 75..<85:
                return now + Int64.random(in: 0...(3 * span(ofLevel: shape.levels - 1) * tick), using: &rng)
            default:
                return max(now, wheel.nextDeadline ?? now)
            }
        }

        mutating func schedule() {
            let id = nextID
            nextID += 1
            let deadline = randomDeadline()
            wheel.schedule(id, at: deadline)
            wheel._checkInvariants()
            model[id] = Pending(deadline: deadline, overdue: deadline <= wheel.now)
            position[id] = live.count
            live.append(id)
        }

        mutating func forget(_ id: Int) {
            model[id] = nil
            guard let index = position.removeValue(forKey: id) else { return }
            let last = live.removeLast()
            if last != id {
                live[index] = last
                position[last] = index
            }
        }

        mutating func advance(step: Int) throws {
            let before = wheel.now
            let instant = randomInstant()
            let fired = wheel.advanceCollecting(to: instant)
            guard instant >= before else {
                try #require(fired.isEmpty, "step \(step): advancing backwards fired \(fired)")
                try #require(wheel.now == before)
                return
            }
            let boundary = shape.boundary(atOrBefore: instant)
            let due = model.filter { $0.value.overdue || $0.value.deadline <= boundary }.keys.sorted()
            try #require(
                fired == due,
                "step \(step): advance \(before) -> \(instant) fired \(fired.count), model expects \(due.count)")
            for id in fired {
                try #require(model[id].map { $0.deadline <= instant } == true, "step \(step): \(id) fired early")
                forget(id)
            }
            for (id, pending) in model {
                try #require(pending.deadline > instant - shape.tick, "step \(step): \(id) is more than a tick late")
            }
            try #require(wheel.now == instant)
            try checkNextDeadline(step: step)
        }

        /// After an advance nothing pending is due: `nextDeadline` lies after
        /// the last boundary, at or before the earliest pending boundary.
        func checkNextDeadline(step: Int) throws {
            guard let earliest = model.values.map({ shape.fireBoundary(of: $0.deadline) }).min() else {
                try #require(wheel.nextDeadline == nil, "step \(step): nextDeadline of an empty wheel")
                return
            }
            let next = try #require(wheel.nextDeadline, "step \(step): no nextDeadline")
            try #require(next <= earliest, "step \(step): nextDeadline \(next) is past \(earliest)")
            let lastBoundary = shape.boundary(atOrBefore: wheel.now)
            try #require(next > lastBoundary, "step \(step): nextDeadline \(next) is not ahead of \(lastBoundary)")
        }
    }

    @Test(arguments: WheelModelRun.all)
    func agreesWithADictionaryModel(_ run: WheelModelRun) throws {
        var harness = Harness(run)
        for step in 0..<3_000 {
            switch Int.random(in: 0..<100, using: &harness.rng) {
            case 0..<55: harness.schedule()
            default: try harness.advance(step: step)
            }
            try #require(harness.wheel.count == harness.model.count, "step \(step): count")
        }
        // Drain: everything left fires once the clock passes the latest deadline.
        let latest = harness.model.values.map { run.shape.fireBoundary(of: $0.deadline) }.max() ?? harness.wheel.now
        let fired = harness.wheel.advanceCollecting(to: max(latest, harness.wheel.now))
        #expect(fired == harness.model.keys.sorted())
        #expect(harness.wheel.isEmpty)
        #expect(harness.wheel.nextDeadline == nil)
    }
}
