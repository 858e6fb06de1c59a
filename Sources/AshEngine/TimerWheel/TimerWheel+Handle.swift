extension TimerWheel {
    /// Identifies one scheduled timer, for ``TimerWheel/cancel(_:)``.
    ///
    /// A handle stays valid until its timer fires or is cancelled; after
    /// that, even once its pool node serves another timer, the wheel
    /// recognizes it as stale by the node's generation.
    public struct Handle: Hashable, Sendable {
        /// The node's index in the pool.
        let index: UInt32
        /// The node's generation when the timer was scheduled.
        let generation: UInt32
    }

    /// The pool index of `handle`'s node if its timer is still scheduled.
    func liveIndex(of handle: Handle) -> Int? {
        let index = Int(handle.index)
        guard index < nodes.count,
            nodes[index].generation == handle.generation,
            nodes[index].prev != _TimerWheelLink.freed
        else { return nil }
        return index
    }
}
