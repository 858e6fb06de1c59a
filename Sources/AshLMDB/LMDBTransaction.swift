import AshCore
import AshEngine
import CLMDB

/// A read-only transaction on the contexts database; valid only inside
/// ``LMDBEnvironment/read(_:)``.
struct LMDBReadTransaction {
    let transaction: OpaquePointer
    let contexts: MDB_dbi

    /// The stored record of `contextId`, pointing into the map: valid until
    /// the transaction ends.
    func record(for contextId: String) throws(LMDBError) -> UnsafeRawBufferPointer? {
        try storedRecord(transaction, contexts, contextId)
    }

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

    /// Applies `changes` in order: `.put` stores (overwriting), `.consume`
    /// sets `consumedAt` of a stored, unconsumed record (a missing record is
    /// ignored), `.delete` removes (a missing record is ignored).
    ///
    /// - Parameter buffer: scratch space for encoding, reused across calls.
    func apply(_ changes: [PersistedChange], buffer: inout [UInt8]) throws {
        for change in changes {
            switch change {
            case .put(let context):
                buffer.removeAll(keepingCapacity: true)
                ContextRecord.encode(context, into: &buffer)
                try put(context.contextId, buffer)
            case .consume(let contextId, let consumedAt):
                guard let stored = try storedRecord(transaction, contexts, contextId),
                    let updated = try ContextRecord.consuming(stored, at: consumedAt)
                else { continue }
                try put(contextId, updated)
            case .delete(let contextId):
                try delete(contextId)
            }
        }
    }

    private func put(_ contextId: String, _ record: [UInt8]) throws(LMDBError) {
        let returnCode = withKey(contextId) { key in
            record.withUnsafeBytes { bytes in
                var value = MDB_val(mv_size: bytes.count, mv_data: UnsafeMutableRawPointer(mutating: bytes.baseAddress))
                return mdb_put(transaction, contexts, &key, &value, 0)
            }
        }
        try LMDBError.check(returnCode)
    }

    private func delete(_ contextId: String) throws(LMDBError) {
        let returnCode = withKey(contextId) { key in mdb_del(transaction, contexts, &key, nil) }
        if returnCode != MDB_NOTFOUND { try LMDBError.check(returnCode) }
    }
}

private func storedRecord(
    _ transaction: OpaquePointer, _ contexts: MDB_dbi, _ contextId: String
) throws(LMDBError) -> UnsafeRawBufferPointer? {
    var value = MDB_val()
    let returnCode = withKey(contextId) { key in mdb_get(transaction, contexts, &key, &value) }
    if returnCode == MDB_NOTFOUND { return nil }
    try LMDBError.check(returnCode)
    return UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size)
}

/// Runs `body` with an `MDB_val` holding the UTF-8 of `contextId`.
private func withKey<Result>(_ contextId: String, _ body: (inout MDB_val) -> Result) -> Result {
    var id = contextId
    return id.withUTF8 { utf8 in
        var key = MDB_val(mv_size: utf8.count, mv_data: UnsafeMutableRawPointer(mutating: utf8.baseAddress))
        return body(&key)
    }
}
