import CLMDB
import Testing

/// Writes straight into an LMDB environment, bypassing the store, to make
/// files of other programs or of future versions.
enum RawLMDB {
    /// Puts `value` under `key` in the database `name` (`nil`: the main one)
    /// of the environment in `folder`, creating the database if needed.
    static func put(folder: String, database name: String?, key: [UInt8], value: [UInt8]) throws {
        try edit(folder: folder, database: name) { transaction, database in
            try withValues(key, value) { key, value in
                try check(mdb_put(transaction, database, &key, &value, 0))
            }
        }
    }

    /// Rewrites the value under `key` in the database `name` with `change`.
    static func update(folder: String, database name: String, key: [UInt8], _ change: (inout [UInt8]) -> Void) throws {
        try edit(folder: folder, database: name) { transaction, database in
            var stored: [UInt8] = try key.withUnsafeBytes { keyBytes in
                var key = MDB_val(
                    mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
                var value = MDB_val()
                try check(mdb_get(transaction, database, &key, &value))
                return Array(UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size))
            }
            change(&stored)
            try withValues(key, stored) { key, value in
                try check(mdb_put(transaction, database, &key, &value, 0))
            }
        }
    }

    private static func edit(
        folder: String, database name: String?, _ body: (OpaquePointer, MDB_dbi) throws -> Void
    ) throws {
        var created: OpaquePointer?
        try check(mdb_env_create(&created))
        let environment = try #require(created)
        defer { mdb_env_close(environment) }
        try check(mdb_env_set_maxdbs(environment, 4))
        try check(mdb_env_open(environment, folder, 0, 0o600))
        var begun: OpaquePointer?
        try check(mdb_txn_begin(environment, nil, 0, &begun))
        let transaction = try #require(begun)
        var database: MDB_dbi = 0
        do {
            try check(mdb_dbi_open(transaction, name, UInt32(MDB_CREATE), &database))
            try body(transaction, database)
        } catch {
            mdb_txn_abort(transaction)
            throw error
        }
        try check(mdb_txn_commit(transaction))
    }

    private static func withValues(
        _ key: [UInt8], _ value: [UInt8], _ body: (inout MDB_val, inout MDB_val) throws -> Void
    ) throws {
        try key.withUnsafeBytes { keyBytes in
            try value.withUnsafeBytes { valueBytes in
                var key = MDB_val(
                    mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
                var value = MDB_val(
                    mv_size: valueBytes.count, mv_data: UnsafeMutableRawPointer(mutating: valueBytes.baseAddress))
                try body(&key, &value)
            }
        }
    }

    struct Failure: Error, CustomStringConvertible {
        let returnCode: Int32
        var description: String { String(cString: mdb_strerror(returnCode)) }
    }

    private static func check(_ returnCode: Int32) throws {
        if returnCode != 0 { throw Failure(returnCode: returnCode) }
    }
}
