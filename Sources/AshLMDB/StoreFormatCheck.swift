import AshStore
import CLMDB

/// Checks, at open, that an LMDB environment is an ASH context store this
/// version can read, and initializes an empty one.
struct StoreFormatCheck {
    /// What the environment holds.
    enum Existing {
        /// A readable store, with the handle of its contexts database.
        case found(contexts: MDB_dbi)
        /// Nothing at all: a new store.
        case empty
    }

    let environment: OpaquePointer
    let folder: String

    /// Reads the format marker in a read-only transaction (writing nothing).
    func existingContexts() throws(ContextStoreError) -> Existing {
        do {
            return try readExisting()
        } catch {
            throw storeError(from: error, while: "checking the format", folder: folder)
        }
    }

    /// Creates the metadata and contexts databases and writes the marker.
    func createDatabases() throws(ContextStoreError) -> MDB_dbi {
        do {
            var created: OpaquePointer?
            try LMDBError.check(mdb_txn_begin(environment, nil, 0, &created))
            guard let transaction = created else { throw LMDBError.noHandle }
            do {
                var metadata: MDB_dbi = 0
                var contexts: MDB_dbi = 0
                try LMDBError.check(
                    mdb_dbi_open(transaction, StoreFormat.metadataDatabase, UInt32(MDB_CREATE), &metadata))
                try withValue(StoreFormat.formatKey) { key in
                    try withValue(StoreFormat.marker) { marker in
                        try LMDBError.check(mdb_put(transaction, metadata, &key, &marker, 0))
                    }
                }
                try LMDBError.check(
                    mdb_dbi_open(transaction, StoreFormat.contextsDatabase, UInt32(MDB_CREATE), &contexts))
                try LMDBError.check(mdb_txn_commit(transaction))
                return contexts
            } catch {
                mdb_txn_abort(transaction)
                throw error
            }
        } catch {
            throw storeError(from: error, while: "creating the store", folder: folder)
        }
    }

    private func readExisting() throws -> Existing {
        var created: OpaquePointer?
        try LMDBError.check(mdb_txn_begin(environment, nil, UInt32(MDB_RDONLY), &created))
        guard let transaction = created else { throw LMDBError.noHandle }
        var committed = false
        defer { if !committed { mdb_txn_abort(transaction) } }

        var metadata: MDB_dbi = 0
        switch mdb_dbi_open(transaction, StoreFormat.metadataDatabase, 0, &metadata) {
        case MDB_SUCCESS:
            break
        case MDB_NOTFOUND:
            var main: MDB_dbi = 0
            var stat = MDB_stat()
            try LMDBError.check(mdb_dbi_open(transaction, nil, 0, &main))
            try LMDBError.check(mdb_stat(transaction, main, &stat))
            if stat.ms_entries == 0 { return .empty }
            throw refusal("it holds an LMDB database of another program")
        case MDB_INCOMPATIBLE:
            throw refusal("it holds an LMDB database of another program")
        case let returnCode:
            throw LMDBError(returnCode: returnCode)
        }

        let marker: [UInt8] = try withValue(StoreFormat.formatKey) { key in
            var value = MDB_val()
            let returnCode = mdb_get(transaction, metadata, &key, &value)
            if returnCode == MDB_NOTFOUND { throw refusal("it has no ASH format marker") }
            try LMDBError.check(returnCode)
            return Array(UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size))
        }
        switch StoreFormat.verdict(on: marker) {
        case .supported:
            break
        case .foreign:
            throw refusal("its format marker is not an ASH context store's")
        case .older(let major, let minor):
            throw ContextStoreError(
                .corruptData,
                "data folder \(folder) was written by an older version of this program (store format \(major).\(minor); "
                    + "this version reads format \(StoreFormat.major).x). Nothing was changed. "
                    + "Run that older version until its contexts expire, or give another folder")
        case .newer(let major, let minor):
            throw ContextStoreError(
                .corruptData,
                "data folder \(folder) was written by a newer version of this program (store format \(major).\(minor); "
                    + "this version reads format \(StoreFormat.major).x). Nothing was changed. "
                    + "Run that newer version, or give another folder")
        }

        var contexts: MDB_dbi = 0
        let returnCode = mdb_dbi_open(transaction, StoreFormat.contextsDatabase, 0, &contexts)
        if returnCode == MDB_NOTFOUND || returnCode == MDB_INCOMPATIBLE {
            throw refusal("its contexts database is missing")
        }
        try LMDBError.check(returnCode)
        // Committing a read-only transaction keeps the database handle open.
        committed = true
        try LMDBError.check(mdb_txn_commit(transaction))
        return .found(contexts: contexts)
    }

    private func refusal(_ reason: String) -> ContextStoreError {
        ContextStoreError(
            .corruptData,
            "data folder \(folder) is not an ASH context store: \(reason). Nothing was changed. "
                + "Give an empty folder or one this program created")
    }
}

/// Runs `body` with an `MDB_val` pointing at `bytes`.
func withValue<Result>(
    _ bytes: [UInt8], _ body: (inout MDB_val) throws -> Result
) rethrows -> Result {
    try bytes.withUnsafeBytes { buffer in
        var value = MDB_val(mv_size: buffer.count, mv_data: UnsafeMutableRawPointer(mutating: buffer.baseAddress))
        return try body(&value)
    }
}
