import AshLMDB
import AshStore
import CLMDB
import Foundation
import Testing

@Suite("LMDB error mapping")
struct LMDBErrorTests {
    @Test("every MDB_* code maps to its own stable code")
    func distinctCodes() {
        let codes = (MDB_KEYEXIST...MDB_LAST_ERRCODE).map { LMDBError(returnCode: $0).code }
        #expect(Set(codes).count == codes.count)
        #expect(!codes.contains(.other))
        #expect(LMDBError(returnCode: MDB_MAP_FULL).code == .mapFull)
        #expect(LMDBError(returnCode: ENOSPC).code == .noSpace)
        #expect(LMDBError(returnCode: EDQUOT).code == .quotaExceeded)
        #expect(LMDBError(returnCode: 12_345).code == .other)
    }

    @Test("surfaces as the store error callers can act on")
    func storeErrors() {
        func mapped(_ returnCode: Int32) -> ContextStoreError {
            LMDBError(returnCode: returnCode).storeError(while: "committing", folder: "/data")
        }
        for full in [MDB_MAP_FULL, ENOSPC, EDQUOT] {
            #expect(mapped(full).code == .storageFull)
            #expect(mapped(full).message.hasPrefix("disk full: "))
        }
        for damaged in [MDB_INVALID, MDB_CORRUPTED, MDB_PAGE_NOTFOUND, MDB_INCOMPATIBLE, MDB_VERSION_MISMATCH] {
            #expect(mapped(damaged).code == .corruptData)
            #expect(mapped(damaged).message.contains("Nothing was changed"))
        }
        #expect(mapped(MDB_VERSION_MISMATCH).message.contains("delete its lock.mdb"))
        for unavailable in [MDB_PANIC, MDB_READERS_FULL, EACCES, EAGAIN] {
            #expect(mapped(unavailable).code == .unavailable)
        }
        #expect(mapped(MDB_BAD_TXN).code == .internalFailure)
        #expect(mapped(MDB_BAD_TXN).message.contains("MDB_BAD_TXN"))
    }
}
