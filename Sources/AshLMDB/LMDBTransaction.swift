import AshCore
import AshEngine
import CLMDB

/// A read-only transaction on the contexts database; valid only inside
/// ``LMDBEnvironment/read(_:)``.
struct LMDBReadTransaction {
    let transaction: OpaquePointer
    let contexts: MDB_dbi

    /// The number of stored contexts.
    func contextCount() throws(LMDBError) -> Int {
        var stat = MDB_stat()
        try LMDBError.check(mdb_stat(transaction, contexts, &stat))
        return Int(stat.ms_entries)
    }

    /// Calls `body` with the key and record of up to `limit` contexts in key
    /// order, starting at the first key not below `start` (the first key when
    /// `start` is `nil`).
    ///
    /// - Returns: the key to resume at, or `nil` when the scan reached the end.
    func scan(
        from start: [UInt8]?,
        limit: Int,
        _ body: (_ key: UnsafeRawBufferPointer, _ record: UnsafeRawBufferPointer) throws -> Void
    ) throws -> [UInt8]? {
        var opened: OpaquePointer?
        try LMDBError.check(mdb_cursor_open(transaction, contexts, &opened))
        guard let cursor = opened else { throw LMDBError.noHandle }
        defer { mdb_cursor_close(cursor) }

        var key = MDB_val()
        var value = MDB_val()
        var returnCode: Int32
        if let start {
            returnCode = start.withUnsafeBytes { bytes in
                key = MDB_val(mv_size: bytes.count, mv_data: UnsafeMutableRawPointer(mutating: bytes.baseAddress))
                return mdb_cursor_get(cursor, &key, &value, MDB_SET_RANGE)
            }
        } else {
            returnCode = mdb_cursor_get(cursor, &key, &value, MDB_FIRST)
        }
        var visited = 0
        while returnCode == MDB_SUCCESS {
            let keyBytes = UnsafeRawBufferPointer(start: key.mv_data, count: key.mv_size)
            if visited == limit { return Array(keyBytes) }
            try body(keyBytes, UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size))
            visited += 1
            returnCode = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)
        }
        guard returnCode == MDB_NOTFOUND else { throw LMDBError(returnCode: returnCode) }
        return nil
    }
}

/// A write transaction on the contexts database; valid only inside
/// ``LMDBEnvironment/write(limits:addsData:logger:_:)``.
struct LMDBWriteTransaction {
    let transaction: OpaquePointer
    let contexts: MDB_dbi

    /// Applies `changes` in their key order: a put stores (overwriting), a
    /// consume sets `consumedAt` of a stored, unconsumed record (a missing
    /// record is ignored), a delete removes (a missing record is ignored).
    /// One cursor walks them; taken in key order, most find their page
    /// without a search from the root (see ``EncodedChanges``). Changes to
    /// one key keep their given order.
    ///
    /// A consume of a version 2 record rewrites it in place at the cursor,
    /// at the same size.
    ///
    /// - Parameter buffer: scratch space for a consume, reused across calls.
    func apply(_ changes: EncodedChanges, buffer: inout [UInt8]) throws {
        var opened: OpaquePointer?
        try LMDBError.check(mdb_cursor_open(transaction, contexts, &opened))
        guard let cursor = opened else { throw LMDBError.noHandle }
        defer { mdb_cursor_close(cursor) }
        try changes.visit { operation, key, record in
            switch operation.kind {
            case .put: try put(cursor, key: key, record, flags: 0)
            case .consume: try consume(cursor, key: key, at: operation.consumedAt, buffer: &buffer)
            case .delete: try delete(key)
            }
        }
    }

    private func consume(
        _ cursor: OpaquePointer, key: UnsafeRawBufferPointer, at consumedAt: Int64, buffer: inout [UInt8]
    ) throws {
        var keyValue = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var value = MDB_val()
        let found = mdb_cursor_get(cursor, &keyValue, &value, MDB_SET_KEY)
        if found == MDB_NOTFOUND { return }
        try LMDBError.check(found)
        let stored = UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size)
        if buffer.count < stored.count { buffer = [UInt8](repeating: 0, count: max(stored.count, 2 * buffer.count)) }
        try buffer.withUnsafeMutableBytes { bytes in
            let record = UnsafeMutableRawBufferPointer(rebasing: bytes[0..<stored.count])
            record.copyMemory(from: stored)
            guard try ContextRecord.consumeInPlace(record, at: consumedAt) else { return }
            try put(cursor, key: key, UnsafeRawBufferPointer(record), flags: UInt32(MDB_CURRENT))
        }
    }

    private func put(
        _ cursor: OpaquePointer, key: UnsafeRawBufferPointer, _ record: UnsafeRawBufferPointer, flags: UInt32
    ) throws(LMDBError) {
        var keyValue = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var value = MDB_val(mv_size: record.count, mv_data: UnsafeMutableRawPointer(mutating: record.baseAddress))
        try LMDBError.check(mdb_cursor_put(cursor, &keyValue, &value, flags))
    }

    private func delete(_ key: UnsafeRawBufferPointer) throws(LMDBError) {
        var keyValue = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        let returnCode = mdb_del(transaction, contexts, &keyValue, nil)
        if returnCode != MDB_NOTFOUND { try LMDBError.check(returnCode) }
    }
}
