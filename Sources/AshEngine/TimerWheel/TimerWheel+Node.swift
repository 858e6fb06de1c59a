extension TimerWheel {
    /// One pooled timer: an intrusive doubly-linked list entry plus its element.
    ///
    /// 12 bytes of bookkeeping: a node with a `UInt32` element has a stride of
    /// 16 bytes, one with a `UInt64` element 24.
    struct Node {
        /// The due tick's digits on every level (``_TimerWheelGeometry/lowBits(of:)``);
        /// in the due list, the current tick's digits.
        var dueLowBits: UInt32
        /// The next node in the bucket or free list, or ``_TimerWheelLink/none``.
        var next: UInt32
        /// The previous node in the bucket, ``_TimerWheelLink/none`` for a
        /// bucket's head, or a marker: ``_TimerWheelLink/freed``,
        /// ``_TimerWheelLink/overflowed``.
        var prev: UInt32
        /// The scheduled element. A freed node keeps its last element until reused.
        var element: Element
    }
}

extension TimerWheel.Node: Sendable where Element: Sendable {}

/// Reserved node links. Node indices stay below ``maxNodeCount``.
enum _TimerWheelLink {
    /// The end of a list, and a bucket head's `prev`.
    static let none = UInt32.max
    /// The `prev` of a node on the free list.
    static let freed = UInt32.max - 1
    /// The `prev` of a node waiting in the overflow set.
    static let overflowed = UInt32.max - 2
    /// The largest pool size.
    static let maxNodeCount = Int(UInt32.max - 2)
}
