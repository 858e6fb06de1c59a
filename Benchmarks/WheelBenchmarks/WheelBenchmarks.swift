import AshEngine
import Benchmark

// The engine's `TimerWheel` as a shard uses it (`UInt64` elements, 10 ms
// ticks, the default 256 slots × 4 levels): schedule `count` timers with
// deadlines spread over the next 60 s, or expire them all
// by advancing the wheel past the last deadline, either tick by tick as the
// engine drives it or in one jump. Schedule runs into a warm pool (nodes
// recycled from an earlier round), as in a running shard.
//
// Each iteration handles `count` timers and the scaling factor equals
// `count`; the tool divides by it, so throughput and the starred metrics
// are per timer.
//
// `TimerWheel` is generic and not `@inlinable`; Package.swift builds
// AshEngine with whole cross-module optimization in benchmark builds, so
// this module runs `TimerWheel<UInt64>` specialized, as the shards do
// (without it, the unspecialized code is about 10x slower).

/// The wheel's starting instant, in Unix ms.
let start: Int64 = 1_800_000_000_000
/// Deadlines fall within this many ms after `start`.
let spreadMilliseconds: Int64 = 60_000
/// The engine's default tick.
let tickMilliseconds: Int64 = 10

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .mallocCountTotal],
        scalingFactor: .kilo,
        maxDuration: .seconds(2),
        maxIterations: 1_000
    )

    for (count, scale) in [(1_000, BenchmarkScalingFactor.kilo), (1_000_000, .mega)] {
        let deadlines = Timers.deadlines(count: count)
        let configuration = Benchmark.Configuration(scalingFactor: scale, maxIterations: count > 1_000 ? 30 : 1_000)

        Benchmark("schedule \(count) timers (spread over 60 s)", configuration: configuration) { benchmark in
            var wheel = Timers.warmWheel(deadlines)
            benchmark.startMeasurement()
            Timers.schedule(deadlines, into: &wheel)
            benchmark.stopMeasurement()
            precondition(wheel.count == count)
        }

        Benchmark("expire \(count) timers, advancing every 10 ms tick", configuration: configuration) { benchmark in
            var wheel = Timers.warmWheel(deadlines)
            Timers.schedule(deadlines, into: &wheel)
            benchmark.startMeasurement()
            var fired = 0
            var instant = start
            while instant <= start + spreadMilliseconds + tickMilliseconds {
                instant += tickMilliseconds
                wheel.advance(to: instant) { _ in fired += 1 }
            }
            benchmark.stopMeasurement()
            precondition(fired == count && wheel.isEmpty)
        }

        Benchmark("expire \(count) timers, advancing in one jump", configuration: configuration) { benchmark in
            var wheel = Timers.warmWheel(deadlines)
            Timers.schedule(deadlines, into: &wheel)
            benchmark.startMeasurement()
            var fired = 0
            wheel.advance(to: identity(start + spreadMilliseconds + tickMilliseconds)) { _ in fired += 1 }
            benchmark.stopMeasurement()
            precondition(fired == count && wheel.isEmpty)
        }
    }
}

enum Timers {
    /// `count` deadlines spread pseudo-randomly (a fixed linear congruential
    /// sequence) over the 60 s after `start`.
    static func deadlines(count: Int) -> [Int64] {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return start + 1 + Int64((state >> 33) % UInt64(spreadMilliseconds))
        }
    }

    /// A wheel at `start` whose node pool already holds `deadlines.count`
    /// freed nodes.
    static func warmWheel(_ deadlines: [Int64]) -> TimerWheel<UInt64> {
        var wheel = TimerWheel<UInt64>(now: start, tickMilliseconds: tickMilliseconds)
        wheel.reserveCapacity(deadlines.count)
        schedule(deadlines, into: &wheel)
        // Fire them all: their nodes go back to the free list.
        wheel.advance(to: (deadlines.max() ?? start) + tickMilliseconds) { _ in }
        return wheel
    }

    /// Schedules one timer per deadline, its element the position.
    static func schedule(_ deadlines: [Int64], into wheel: inout TimerWheel<UInt64>) {
        for (position, deadline) in deadlines.enumerated() {
            wheel.schedule(UInt64(position), at: deadline)
        }
    }
}
