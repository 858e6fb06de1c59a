import AshStore
import CLMDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed LMDB call: the `MDB_*` or `errno` return code it gave, with a
/// stable code.
///
/// This is the one place where LMDB return codes are interpreted; everything
/// above it sees ``Code`` values, and callers of the persistence only ever see
/// the ``ContextStoreError`` that ``storeError(while:folder:)`` makes of it.
package struct LMDBError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, independent of the numeric value.
    package struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String {
            case keyExists = "MDB_KEYEXIST"
            case notFound = "MDB_NOTFOUND"
            case pageNotFound = "MDB_PAGE_NOTFOUND"
            case corrupted = "MDB_CORRUPTED"
            case panic = "MDB_PANIC"
            case versionMismatch = "MDB_VERSION_MISMATCH"
            case invalid = "MDB_INVALID"
            case mapFull = "MDB_MAP_FULL"
            case databasesFull = "MDB_DBS_FULL"
            case readersFull = "MDB_READERS_FULL"
            case threadLocalStorageFull = "MDB_TLS_FULL"
            case transactionFull = "MDB_TXN_FULL"
            case cursorFull = "MDB_CURSOR_FULL"
            case pageFull = "MDB_PAGE_FULL"
            case mapResized = "MDB_MAP_RESIZED"
            case incompatible = "MDB_INCOMPATIBLE"
            case badReaderSlot = "MDB_BAD_RSLOT"
            case badTransaction = "MDB_BAD_TXN"
            case badValueSize = "MDB_BAD_VALSIZE"
            case badDatabase = "MDB_BAD_DBI"
            case noSpace = "ENOSPC"
            case quotaExceeded = "EDQUOT"
            case accessDenied = "EACCES"
            case inputOutput = "EIO"
            case outOfMemory = "ENOMEM"
            case invalidArgument = "EINVAL"
            case busy = "EBUSY"
            case other = "OTHER"
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        package var description: String { base.rawValue }

        package static let keyExists = Code(.keyExists)
        package static let notFound = Code(.notFound)
        package static let pageNotFound = Code(.pageNotFound)
        package static let corrupted = Code(.corrupted)
        package static let panic = Code(.panic)
        package static let versionMismatch = Code(.versionMismatch)
        package static let invalid = Code(.invalid)
        package static let mapFull = Code(.mapFull)
        package static let databasesFull = Code(.databasesFull)
        package static let readersFull = Code(.readersFull)
        package static let threadLocalStorageFull = Code(.threadLocalStorageFull)
        package static let transactionFull = Code(.transactionFull)
        package static let cursorFull = Code(.cursorFull)
        package static let pageFull = Code(.pageFull)
        package static let mapResized = Code(.mapResized)
        package static let incompatible = Code(.incompatible)
        package static let badReaderSlot = Code(.badReaderSlot)
        package static let badTransaction = Code(.badTransaction)
        package static let badValueSize = Code(.badValueSize)
        package static let badDatabase = Code(.badDatabase)
        /// `ENOSPC`: the device is full.
        package static let noSpace = Code(.noSpace)
        /// `EDQUOT`: the user's disk quota is used up.
        package static let quotaExceeded = Code(.quotaExceeded)
        /// `EACCES` or `EPERM`.
        package static let accessDenied = Code(.accessDenied)
        package static let inputOutput = Code(.inputOutput)
        package static let outOfMemory = Code(.outOfMemory)
        package static let invalidArgument = Code(.invalidArgument)
        /// `EBUSY` or `EAGAIN`.
        package static let busy = Code(.busy)
        /// Any other system error; ``LMDBError/returnCode`` tells which.
        package static let other = Code(.other)

        fileprivate init(returnCode: Int32) {
            switch returnCode {
            case MDB_KEYEXIST: self = .keyExists
            case MDB_NOTFOUND: self = .notFound
            case MDB_PAGE_NOTFOUND: self = .pageNotFound
            case MDB_CORRUPTED: self = .corrupted
            case MDB_PANIC: self = .panic
            case MDB_VERSION_MISMATCH: self = .versionMismatch
            case MDB_INVALID: self = .invalid
            case MDB_MAP_FULL: self = .mapFull
            case MDB_DBS_FULL: self = .databasesFull
            case MDB_READERS_FULL: self = .readersFull
            case MDB_TLS_FULL: self = .threadLocalStorageFull
            case MDB_TXN_FULL: self = .transactionFull
            case MDB_CURSOR_FULL: self = .cursorFull
            case MDB_PAGE_FULL: self = .pageFull
            case MDB_MAP_RESIZED: self = .mapResized
            case MDB_INCOMPATIBLE: self = .incompatible
            case MDB_BAD_RSLOT: self = .badReaderSlot
            case MDB_BAD_TXN: self = .badTransaction
            case MDB_BAD_VALSIZE: self = .badValueSize
            case MDB_BAD_DBI: self = .badDatabase
            case ENOSPC: self = .noSpace
            case EDQUOT: self = .quotaExceeded
            case EACCES, EPERM: self = .accessDenied
            case EIO: self = .inputOutput
            case ENOMEM: self = .outOfMemory
            case EINVAL: self = .invalidArgument
            case EBUSY, EAGAIN: self = .busy
            default: self = .other
            }
        }
    }

    /// The stable code.
    package let code: Code
    /// The raw `MDB_*` or `errno` value.
    package let returnCode: Int32

    /// Interprets a non-zero return code of an `mdb_*` call.
    package init(returnCode: Int32) {
        self.code = Code(returnCode: returnCode)
        self.returnCode = returnCode
    }

    /// LMDB's own text for the code (it covers `errno` values too).
    package var message: String { String(cString: mdb_strerror(returnCode)) }

    package var description: String { "\(code) (\(returnCode)): \(message)" }

    /// An `mdb_*` call succeeded but returned no handle (`EINVAL`).
    package static var noHandle: LMDBError { LMDBError(returnCode: EINVAL) }

    /// Runs an `mdb_*` call and throws its non-zero return code.
    @inline(__always)
    package static func check(_ returnCode: Int32) throws(LMDBError) {
        if returnCode != MDB_SUCCESS { throw LMDBError(returnCode: returnCode) }
    }

    /// The error callers of the persistence see.
    ///
    /// - Parameters:
    ///   - operation: what was being done, such as `"opening"` or `"committing"`.
    ///   - folder: the data folder, named in the message.
    package func storeError(while operation: String, folder: String) -> ContextStoreError {
        switch code {
        case .noSpace, .quotaExceeded:
            return ContextStoreError(
                .storageFull,
                "disk full: \(code) while \(operation) in data folder \(folder); the write was not made. "
                    + "Free space on the device (or raise the quota); reads keep working")
        case .mapFull:
            return ContextStoreError(
                .storageFull,
                "disk full: the LMDB map of data folder \(folder) is full while \(operation); "
                    + "the write was not made. Raise the maximum map size")
        case .invalid, .corrupted, .pageNotFound, .incompatible:
            return ContextStoreError(
                .corruptData,
                "data folder \(folder) holds a damaged or foreign data file (\(code): \(message)) while "
                    + "\(operation). Nothing was changed. Restore the folder from a backup or move it away "
                    + "and start with an empty folder")
        case .versionMismatch:
            return ContextStoreError(
                .corruptData,
                "data folder \(folder) was used by an incompatible LMDB version (\(code)). Nothing was "
                    + "changed. If no other process uses the folder, delete its lock.mdb and start again")
        case .panic:
            return ContextStoreError(
                .unavailable,
                "LMDB hit a fatal error in data folder \(folder) while \(operation) (\(code)); "
                    + "restart the process")
        case .readersFull, .busy:
            return ContextStoreError(.unavailable, "data folder \(folder) is busy while \(operation): \(self)")
        case .accessDenied:
            return ContextStoreError(
                .unavailable, "permission denied while \(operation) in data folder \(folder): \(self)")
        default:
            return ContextStoreError(
                .internalFailure, "LMDB failed while \(operation) in data folder \(folder): \(self)")
        }
    }
}

/// The ``ContextStoreError`` for any failure met while working on the store:
/// ``LMDBError``s are interpreted, store errors pass through.
func storeError(from error: any Error, while operation: String, folder: String) -> ContextStoreError {
    switch error {
    case let error as ContextStoreError:
        return error
    case let error as LMDBError:
        return error.storeError(while: operation, folder: folder)
    case let error as ContextRecordError:
        return ContextStoreError(
            .corruptData,
            "data folder \(folder) holds a record that cannot be read while \(operation): \(error). "
                + "Nothing was changed. Restore the folder from a backup or move it away")
    default:
        return ContextStoreError(.internalFailure, "\(operation) in data folder \(folder) failed: \(error)")
    }
}
