import AshStore
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive `flock` on `ash-store.lock` in the data folder, held for as
/// long as the store is open.
///
/// LMDB lets several processes share an environment; this store keeps its
/// contexts in memory and must be the only writer, so a second process (or
/// a second open in the same process) is refused. The lock file holds the
/// owner's pid so the refusal can name it. The kernel drops the lock when
/// the process dies, so a crash never leaves the folder locked. The file
/// is opened close-on-exec: child processes do not inherit the lock.
final class FolderLock: Sendable {
    private let descriptor: Mutex<Int32>

    private init(descriptor: Int32) {
        self.descriptor = Mutex(descriptor)
    }

    /// Takes the lock, or explains who holds it.
    static func acquire(folder: String) throws(ContextStoreError) -> FolderLock {
        let path = DataFolder.path(of: DataFolder.processLockFile, in: folder)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw ContextStoreError(.unavailable, "cannot open lock file \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let failure = errno
            let owner = readOwner(fd)
            close(fd)
            guard failure == EWOULDBLOCK else {
                throw ContextStoreError(
                    .unavailable, "cannot lock data folder \(folder): \(String(cString: strerror(failure)))")
            }
            let who: String
            if let owner, owner == getpid() {
                who = "this process (pid \(owner)): it is open already; close it first"
            } else if let owner {
                who = "another process (pid \(owner)); stop it or give another folder"
            } else {
                who = "another process; stop it or give another folder"
            }
            throw ContextStoreError(.unavailable, "data folder \(folder) is in use by \(who)")
        }
        let pid = Array("\(getpid())\n".utf8)
        if ftruncate(fd, 0) == 0 {
            _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        }
        return FolderLock(descriptor: fd)
    }

    /// Releases the lock; later calls do nothing.
    func release() {
        descriptor.withLock { fd in
            guard fd >= 0 else { return }
            close(fd)
            fd = -1
        }
    }

    deinit { release() }

    private static func readOwner(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        let text = String(decoding: buffer[..<count], as: UTF8.self)
        return text.split(whereSeparator: { $0 == "\n" }).first.flatMap { Int32($0) }
    }
}
