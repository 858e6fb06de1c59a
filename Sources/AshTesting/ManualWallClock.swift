import AshCore
import Synchronization

/// A wall clock that moves only when told to.
public final class ManualWallClock: WallClock {
    private let now: Mutex<Int64>

    /// - Parameter start: the initial time in Unix ms; defaults to 2026-01-01.
    public init(start: Int64 = 1_767_225_600_000) {
        now = Mutex(start)
    }

    public func nowMilliseconds() -> Int64 { now.withLock { $0 } }

    /// Moves the clock forward by `milliseconds`.
    public func advance(by milliseconds: Int64) {
        precondition(milliseconds >= 0, "a wall clock used in tests only moves forward")
        now.withLock { $0 += milliseconds }
    }

    /// Sets the clock to `milliseconds`.
    public func set(_ milliseconds: Int64) {
        now.withLock { $0 = milliseconds }
    }
}
