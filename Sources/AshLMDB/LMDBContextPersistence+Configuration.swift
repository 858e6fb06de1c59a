import AshStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension LMDBContextPersistence {
    /// Sizes and timings of an LMDB store.
    public struct Configuration: Sendable, Hashable {
        /// The initial size of the memory map in bytes. The data file grows
        /// as it fills; the map doubles when full. Default 256 MiB.
        public var mapSize: Int
        /// Commits that store contexts never grow the map beyond this; those
        /// that do not fit fail with `.storageFull`. Equal to ``mapSize`` to
        /// disable growth. Default 64 GiB.
        public var maxMapSize: Int
        /// Room kept for commits that only consume and delete, so that a full
        /// store can still consume and free space (LMDB copies pages on
        /// write: even a delete needs free pages). Default 8 MiB.
        ///
        /// - In the map: such commits may grow it to `maxMapSize + reserve`,
        ///   so the data file stays below that.
        /// - On the disk: this much space is kept allocated past the end of
        ///   the data file; when the device is too full to keep it, commits
        ///   that store contexts fail with `.storageFull` and consumes and
        ///   deletes use it.
        public var reserve: Int
        /// The most changes committed in one transaction. Default 4096.
        public var maxBatchChanges: Int
        /// How long a change may wait for others to share its commit: a
        /// batch commits when it holds ``maxBatchChanges`` changes or its
        /// oldest change has waited this long. Default zero: a batch commits
        /// as soon as the writer is free, and takes whatever queued up while
        /// it was busy. A delay trades latency for fewer, larger commits
        /// (less writer CPU and fewer page writes per change; more changes
        /// per fsync in `strict`). At most 1 s.
        public var maxBatchDelay: Duration
        /// With `relaxed` durability, how soon after a commit the data is
        /// synced to the disk. Default 1 s.
        public var syncInterval: Duration
        /// How many records recovery reads per read transaction. Default 65,536.
        public var recoveryChunkSize: Int
        /// With `strict` durability, whether a group commit is made durable
        /// by one sync of a write-ahead log (`ash-store.wal`) instead of
        /// LMDB's two-step commit: callers wait about one and a half sync
        /// cycles instead of two and a half. Default `true`. Ignored by
        /// `relaxed`; a log left by a crash is replayed on open either way.
        public var writeAheadLog: Bool
        /// With the write-ahead log, how often the changes it holds are
        /// committed to LMDB and the log starts over (also whenever it holds
        /// 32 MiB, or a batch does not fit in it). A checkpoint costs two LMDB
        /// syncs and one of the log; a longer interval means a longer replay
        /// after a crash and more memory for the pages changed meanwhile.
        /// Default 1 s; at most one hour.
        public var checkpointInterval: Duration

        public init(
            mapSize: Int = 256 << 20,
            maxMapSize: Int = 64 << 30,
            reserve: Int = 8 << 20,
            maxBatchChanges: Int = 4096,
            maxBatchDelay: Duration = .zero,
            syncInterval: Duration = .seconds(1),
            recoveryChunkSize: Int = 65_536,
            writeAheadLog: Bool = true,
            checkpointInterval: Duration = .seconds(1)
        ) {
            self.mapSize = mapSize
            self.maxMapSize = maxMapSize
            self.reserve = reserve
            self.maxBatchChanges = maxBatchChanges
            self.maxBatchDelay = maxBatchDelay
            self.syncInterval = syncInterval
            self.recoveryChunkSize = recoveryChunkSize
            self.writeAheadLog = writeAheadLog
            self.checkpointInterval = checkpointInterval
        }

        /// The smallest map accepted: 64 KiB.
        public static let minimumMapSize = 64 << 10

        /// The configuration with sizes rounded down to whole pages, or an
        /// `.invalidArgument` error naming the bad setting.
        func validated() throws(ContextStoreError) -> Configuration {
            guard mapSize >= Self.minimumMapSize else {
                throw ContextStoreError(.invalidArgument, "mapSize must be at least \(Self.minimumMapSize) bytes")
            }
            guard maxMapSize >= mapSize else {
                throw ContextStoreError(.invalidArgument, "maxMapSize must be at least mapSize")
            }
            guard reserve >= 0 else {
                throw ContextStoreError(.invalidArgument, "reserve must not be negative")
            }
            guard maxBatchChanges > 0 else {
                throw ContextStoreError(.invalidArgument, "maxBatchChanges must be positive")
            }
            guard maxBatchDelay >= .zero, maxBatchDelay <= .seconds(1) else {
                throw ContextStoreError(.invalidArgument, "maxBatchDelay must be 0...1 s")
            }
            guard syncInterval > .zero else {
                throw ContextStoreError(.invalidArgument, "syncInterval must be positive")
            }
            guard checkpointInterval > .zero, checkpointInterval <= .seconds(3600) else {
                throw ContextStoreError(.invalidArgument, "checkpointInterval must be more than 0 and at most 1 hour")
            }
            guard recoveryChunkSize > 0 else {
                throw ContextStoreError(.invalidArgument, "recoveryChunkSize must be positive")
            }
            var rounded = self
            rounded.mapSize = mapSize / Self.pageSize * Self.pageSize
            rounded.maxMapSize = maxMapSize / Self.pageSize * Self.pageSize
            rounded.reserve = (reserve + Self.pageSize - 1) / Self.pageSize * Self.pageSize
            return rounded
        }

        static let pageSize = max(Int(sysconf(Int32(_SC_PAGESIZE))), 4096)

        var mapLimits: MapLimits {
            MapLimits(maxMapSize: maxMapSize, reserve: reserve, pageSize: Self.pageSize)
        }
    }

    /// Counts and sizes of an open store.
    public struct Statistics: Sendable, Hashable {
        /// Stored contexts, expired ones not yet reclaimed included (with
        /// the write-ahead log, those committed since the last checkpoint
        /// too).
        public var contextCount: Int
        /// The current size of the memory map.
        public var mapSize: Int
        /// The bytes of the map in use (up to the last used page).
        public var usedBytes: Int
        /// The size of `data.mdb` on the disk.
        public var dataFileBytes: Int
        /// Group commits since open (with the write-ahead log, its synced
        /// appends); with ``committedChanges``, the average batch size.
        public var committedTransactions: Int
        /// Changes committed since open.
        public var committedChanges: Int
        /// Syncs the writer ran besides those inside commits: `relaxed`'s
        /// periodic ones; in `strict` with the write-ahead log, one per
        /// checkpoint; without it, one for each commit that no later
        /// commit's sync covered before the queue ran empty.
        public var syncs: Int

        public init(
            contextCount: Int, mapSize: Int, usedBytes: Int, dataFileBytes: Int, committedTransactions: Int,
            committedChanges: Int, syncs: Int = 0
        ) {
            self.contextCount = contextCount
            self.mapSize = mapSize
            self.usedBytes = usedBytes
            self.dataFileBytes = dataFileBytes
            self.committedTransactions = committedTransactions
            self.committedChanges = committedChanges
            self.syncs = syncs
        }
    }
}
