#if os(Linux)
import NIOCore

/// A task an ``EpollEventLoop`` runs at a deadline, unless cancelled first.
final class EpollTimer {
    let deadline: NIODeadline
    /// Orders timers with the same deadline by when they were scheduled.
    fileprivate(set) var sequence: UInt64 = 0
    /// Called once: `true` at the deadline, `false` when the loop shuts
    /// down first. Never after a successful ``cancel()``.
    private var action: ((Bool) -> Void)?

    init(deadline: NIODeadline, action: @escaping (Bool) -> Void) {
        self.deadline = deadline
        self.action = action
    }

    /// Whether it is neither cancelled nor run.
    var isPending: Bool { action != nil }

    /// Cancels the timer: `true` when it had not run yet. On the loop.
    func cancel() -> Bool {
        guard isPending else { return false }
        action = nil
        return true
    }

    /// Runs the action (`fired`: the deadline came; `false`: the loop
    /// stopped first), unless cancelled.
    func fire(_ fired: Bool) {
        guard let action else { return }
        self.action = nil
        action(fired)
    }
}

/// The pending timers of one loop: a binary min-heap by deadline, then by
/// the order they were scheduled in. A cancelled timer stays in the heap
/// until its deadline and is skipped then (cancelling is O(1); a handshake
/// or frame timer is cancelled far more often than it fires).
///
/// Not thread-safe: owned by its loop.
struct EpollTimerQueue {
    private var heap: [EpollTimer] = []
    private var scheduled: UInt64 = 0

    /// - Complexity: O(log n).
    mutating func insert(_ timer: EpollTimer) {
        scheduled &+= 1
        timer.sequence = scheduled
        heap.append(timer)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.precedes(heap[child], heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    /// The `epoll_wait` timeout until the earliest timer: -1 when there is
    /// none, 0 when one is due, else its milliseconds rounded up.
    func milliseconds(until now: NIODeadline) -> Int32 {
        guard let first = heap.first else { return -1 }
        let nanoseconds = (first.deadline - now).nanoseconds
        guard nanoseconds > 0 else { return 0 }
        // Rounded up, and at most Int32.max ms (a deadline years away
        // waits in steps): no overflow for far deadlines.
        return Int32(clamping: nanoseconds / 1_000_000 + (nanoseconds % 1_000_000 > 0 ? 1 : 0))
    }

    /// Takes the earliest timer if it is due at `now`. The loop fires it
    /// after this returns: its action may schedule timers.
    mutating func popDue(at now: NIODeadline) -> EpollTimer? {
        guard let first = heap.first, first.deadline <= now else { return nil }
        removeFirst()
        return first
    }

    /// Takes every timer (the loop stops).
    mutating func removeAll() -> [EpollTimer] {
        defer { heap.removeAll() }
        return heap
    }

    private mutating func removeFirst() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { return }
            let right = left + 1
            let child = right < heap.count && Self.precedes(heap[right], heap[left]) ? right : left
            guard Self.precedes(heap[child], heap[parent]) else { return }
            heap.swapAt(child, parent)
            parent = child
        }
    }

    private static func precedes(_ a: EpollTimer, _ b: EpollTimer) -> Bool {
        a.deadline < b.deadline || (a.deadline == b.deadline && a.sequence < b.sequence)
    }
}
#endif
