import AshEngine
import AshStore

/// One caller's changes, checked and encoded by the caller (keys and
/// records as stored) and sorted by key, so that the writer thread — the
/// store's one serial resource — only hands bytes to LMDB.
///
/// Key order: LMDB positions a cursor by comparing the key with the first
/// and last keys of the page it is on, and descends from the root only when
/// the key lies elsewhere. Keys sort by expiry first, so a batch's puts and
/// consumes fall on a few pages at the end of the tree; taken in key order,
/// most of them find their page at once, and it is in the cache.
///
/// Changes to different keys commute (a put stores, a consume or delete acts
/// on its own key only), so their order within one transaction does not
/// matter; changes to the same key keep the order the caller gave. The sort
/// compares the start of the keys (the expiry and 6 characters of the id),
/// then that order: keys that share their start keep the caller's order,
/// which is correct for any keys and rare for distinct ones. The writer
/// applies the callers of a transaction one after the other, in queue
/// order. (Merging them into one key order saved about as much LMDB work
/// as the merge cost.)
///
/// Pure: no I/O.
package struct EncodedChanges: Sendable, RandomAccessCollection {
    /// One change, with where its bytes are.
    package struct Operation: Sendable {
        package enum Kind: UInt8, Sendable {
            /// Store the record that follows the key.
            case put
            /// Mark the record consumed at `consumedAt`.
            case consume
            /// Remove the record.
            case delete
        }

        /// The sort key: the key's first 14 bytes as big-endian words (the
        /// expiry, then 6 bytes of the id's text in the top of `text`):
        /// they compare as the bytes do.
        var expiry: UInt64
        var text: UInt64
        /// The position in the caller's order.
        var sequence: Int
        package var kind: Kind
        var keyOffset: Int
        var keyLength: Int
        /// A put's record, right after its key.
        var recordLength: Int
        /// A consume's time (Unix ms).
        package var consumedAt: Int64

        /// Sort key order, then given order.
        @inline(__always)
        static func precedes(_ left: Operation, _ right: Operation) -> Bool {
            if left.expiry != right.expiry { return left.expiry < right.expiry }
            if left.text != right.text { return left.text < right.text }
            return left.sequence < right.sequence
        }
    }

    /// Memory to encode into: that of committed changes, handed back by
    /// the writer (see ``LMDBWriter``), so that a steady load reuses its
    /// memory instead of faulting fresh pages in for every commit.
    package struct Buffers: Sendable {
        var bytes: [UInt8] = []
        var operations: [Operation] = []
        var sorted: [Operation] = []

        package init() {}

        /// The bytes these buffers hold on to.
        var capacity: Int {
            bytes.capacity + (operations.capacity + sorted.capacity) * MemoryLayout<Operation>.stride
        }
    }

    /// The keys and records, back to back (and unused room after them).
    private(set) var bytes: [UInt8] = []
    /// The changes in key order.
    private(set) var operations: [Operation] = []
    private var sorted: [Operation] = []
    /// How many of the changes store a context.
    package private(set) var puts = 0

    /// Checks `changes` against ``ContextLimits`` and encodes them into
    /// `buffers`.
    /// - Throws: ``ContextStoreError/Code/invalidArgument`` for the first
    ///   invalid change.
    /// - Complexity: O(*n*) in the number of changes, when they share one
    ///   expiry; O(*n* log *n*) otherwise.
    package init(checking changes: [PersistedChange], into buffers: Buffers = Buffers()) throws(ContextStoreError) {
        try self.init(changes, checks: true, into: buffers)
    }

    /// Encodes `changes` as they are (for changes read back from the
    /// store, such as the deletes of expired records).
    package init(unchecked changes: [PersistedChange], into buffers: Buffers = Buffers()) {
        do {
            try self.init(changes, checks: false, into: buffers)
        } catch {
            // Only the checks throw; dropping changes here would lose them silently.
            preconditionFailure("encoding unchecked changes failed: \(error)")
        }
    }

    private init(_ changes: [PersistedChange], checks: Bool, into buffers: Buffers) throws(ContextStoreError) {
        bytes = buffers.bytes
        operations = buffers.operations
        sorted = buffers.sorted
        operations.removeAll(keepingCapacity: true)
        operations.reserveCapacity(changes.count)
        // Room for a key (30 bytes) per change, and a record (about 60) if
        // the first is a put; grown when short. Every byte used is written
        // before it is read.
        let perChange = if case .put? = changes.first { 96 } else { 32 }
        if bytes.count < changes.count * perChange { bytes = [UInt8](repeating: 0, count: changes.count * perChange) }
        var used = 0
        for (sequence, change) in changes.enumerated() {
            switch change {
            case .put(let context):
                if checks { try context.validate() }
                let recordLength = ContextRecord.size(of: context)
                let (keyLength, words) = appendKey(context.id, context.expiresAt, extra: recordLength, at: &used)
                bytes.withUnsafeMutableBytes { buffer in
                    ContextRecord.encode(
                        context, into: UnsafeMutableRawBufferPointer(rebasing: buffer[used..<used + recordLength]))
                }
                append(.put, words, sequence, keyLength, recordLength: recordLength, at: &used)
                puts += 1
            case .consume(let id, let expiresAt, let consumedAt):
                if checks, case .foreign(let text) = id { try ContextLimits.validateId(text) }
                let (keyLength, words) = appendKey(id, expiresAt, extra: 0, at: &used)
                append(.consume, words, sequence, keyLength, consumedAt: consumedAt, at: &used)
            case .delete(let id, let expiresAt):
                if checks, case .foreign(let text) = id { try ContextLimits.validateId(text) }
                let (keyLength, words) = appendKey(id, expiresAt, extra: 0, at: &used)
                append(.delete, words, sequence, keyLength, at: &used)
            }
        }
        sortByKey()
    }

    /// Sorts the operations by sort key, then given order. When they share
    /// one expiry (a batch of creates, or the consumes of one) this sorts
    /// plain integers: the text word, with the index in its low 16 bits.
    private mutating func sortByKey() {
        guard operations.count > 1 else { return }
        let expiry = operations[0].expiry
        guard operations.count <= 1 << 16, operations.allSatisfy({ $0.expiry == expiry }) else {
            operations.sort(by: Operation.precedes)
            return
        }
        sorted.removeAll(keepingCapacity: true)
        for value in Self.sorted(operations.indices.map { operations[$0].text | UInt64($0) }) {
            sorted.append(operations[Int(value & 0xFFFF)])
        }
        swap(&operations, &sorted)
    }

    /// The memory of these changes, to encode later ones into.
    package var buffers: Buffers {
        var buffers = Buffers()
        buffers.bytes = bytes
        buffers.operations = operations
        buffers.sorted = sorted
        return buffers
    }

    /// Writes a key at `used` (with room for `extra` bytes after it) and
    /// advances `used` past the key; returns its length and sort words.
    private mutating func appendKey(
        _ id: ContextID, _ expiresAt: Int64, extra: Int, at used: inout Int
    ) -> (Int, (UInt64, UInt64)) {
        let length = ContextKey.length(of: id)
        if bytes.count < used + length + extra {
            bytes += [UInt8](repeating: 0, count: Swift.max(used + length + extra - bytes.count, bytes.count))
        }
        let start = used
        let text = bytes.withUnsafeMutableBytes { buffer in
            let key = UnsafeMutableRawBufferPointer(rebasing: buffer[start..<start + length])
            ContextKey.write(id, expiresAt: expiresAt, into: key)
            if length >= 16 {
                return UInt64(bigEndian: key.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) & ~0xFFFF
            }
            var text: UInt64 = 0
            for index in 8..<14 { text = text << 8 | UInt64(index < length ? key[index] : 0) }
            return text << 16
        }
        used += length
        return (length, (UInt64(bigEndian: ContextKey.order(of: expiresAt)), text))
    }

    /// Records an operation whose key ends at `used` (its record, if any,
    /// starts there), and advances `used` past the record.
    private mutating func append(
        _ kind: Operation.Kind, _ words: (UInt64, UInt64), _ sequence: Int, _ keyLength: Int,
        recordLength: Int = 0, consumedAt: Int64 = 0, at used: inout Int
    ) {
        operations.append(
            Operation(
                expiry: words.0, text: words.1, sequence: sequence, kind: kind,
                keyOffset: used - keyLength, keyLength: keyLength, recordLength: recordLength,
                consumedAt: consumedAt))
        used += recordLength
    }

    /// Calls `body` with each operation in key order, its key, and (for a
    /// put) its record.
    package func visit(
        _ body: (Operation, _ key: UnsafeRawBufferPointer, _ record: UnsafeRawBufferPointer) throws -> Void
    ) rethrows {
        try bytes.withUnsafeBytes { bytes in
            for operation in operations {
                let keyStart = operation.keyOffset
                let keyEnd = keyStart + operation.keyLength
                try body(
                    operation, UnsafeRawBufferPointer(rebasing: bytes[keyStart..<keyEnd]),
                    UnsafeRawBufferPointer(rebasing: bytes[keyEnd..<keyEnd + operation.recordLength]))
            }
        }
    }

    // MARK: RandomAccessCollection

    package var startIndex: Int { operations.startIndex }
    package var endIndex: Int { operations.endIndex }
    package subscript(position: Int) -> Operation { operations[position] }
}
