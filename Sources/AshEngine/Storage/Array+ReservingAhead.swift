#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension Array {
    /// The count from which ``append(_:reservingAheadUpTo:)`` stops
    /// doubling: 65,536 elements (4 MiB of 64-byte records).
    static var reservingAheadThreshold: Int { 1 << 16 }

    /// Appends `element`; an array that is full and already holds
    /// ``reservingAheadThreshold`` elements grows once to `limit` instead of
    /// doubling.
    ///
    /// Doubling copies every element into a buffer twice the size: for a
    /// shard's millions of records or timer nodes, hundreds of megabytes
    /// copied (and as many faulted in) inside one insert, while the shard
    /// serves nothing. Past the threshold the array instead takes room for
    /// all `limit` elements at once, as LMDB maps its whole file: a buffer
    /// that large comes from `mmap`, and its pages are faulted in only as
    /// they are written, so what is reserved and never used costs address
    /// space, not memory. That growth copies the threshold's elements, once
    /// (about a millisecond); nothing past it is ever copied. Below the
    /// threshold the array grows as any array does, so small shards stay
    /// small and reuse the allocator's memory.
    ///
    /// The reservation never exceeds the machine's physical memory: Linux
    /// refuses a single allocation larger than RAM and swap (unless told to
    /// overcommit always), and a refused allocation would stop the process.
    /// A limit beyond that (a maximum no machine here could hold) falls
    /// back to doubling past the physical memory's worth of elements.
    ///
    /// - Complexity: amortized O(1).
    @inline(__always)
    mutating func append(_ element: Element, reservingAheadUpTo limit: Int) {
        if count == capacity, count >= Self.reservingAheadThreshold {
            let reservation = Self.reservation(upTo: limit)
            if reservation > count { reserveCapacity(reservation) }
        }
        append(element)
    }

    /// `limit`, or fewer: as many elements as the machine's physical memory
    /// holds.
    static func reservation(upTo limit: Int) -> Int {
        Swift.min(limit, PhysicalMemory.bytes / Swift.max(MemoryLayout<Element>.stride, 1))
    }
}

/// The machine's physical memory, read once.
enum PhysicalMemory {
    /// In bytes; 1 GiB when the system does not say.
    static let bytes: Int = {
        let pages = sysconf(Int32(_SC_PHYS_PAGES))
        let pageSize = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, pageSize > 0 else { return 1 << 30 }
        let (bytes, overflow) = pages.multipliedReportingOverflow(by: pageSize)
        return overflow ? Int.max : bytes
    }()
}
