import CLMDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Keeps disk space allocated past the end of `data.mdb`, so that a full
/// device still lets consumes and deletes through.
///
/// LMDB copies pages on write: even a delete writes new pages, and pages it
/// frees are reused only two transactions later. On a full device every
/// write would fail, consumes included, until an operator frees space. So the
/// store keeps ``bytes`` allocated beyond the used end of the file
/// (`fallocate` with `FALLOC_FL_KEEP_SIZE`: the blocks are taken, the size
/// does not change) and tops it up as the file grows. When the top-up fails
/// for lack of space, the reserve is *short*: transactions that store new
/// contexts are refused with `.storageFull` before they reach LMDB (unless
/// pages freed inside the file can hold them, as after expired contexts
/// were deleted), while consumes and deletes write into the reserve. The
/// top-up is retried before each such write, so the store recovers by
/// itself once space is freed.
///
/// Where the file system cannot preallocate, the reserve is off and a full
/// device fails writes as LMDB reports them.
///
/// Used by the writer thread only.
final class DiskReserve {
    /// The bytes kept allocated past the used end.
    let bytes: Int
    private let descriptor: Int32
    private var allocatedEnd = 0
    private var isSupported = true
    /// Whether the last top-up failed for lack of space.
    private(set) var isShort = false

    init(descriptor: Int32, bytes: Int) {
        self.descriptor = descriptor
        self.bytes = bytes
        isSupported = descriptor >= 0 && bytes > 0
    }

    /// Tops up the reserve when the used end came within half of it, or
    /// retries a short one.
    ///
    /// - Parameter usedEnd: the end of the pages LMDB uses, in bytes.
    func update(usedEnd: Int) {
        guard isSupported, isShort || usedEnd + bytes / 2 > allocatedEnd else { return }
        switch ash_preallocate(descriptor, off_t(usedEnd), off_t(bytes)) {
        case 0:
            allocatedEnd = usedEnd + bytes
            isShort = false
        case ENOSPC, EDQUOT:
            isShort = true
        default:
            // EOPNOTSUPP and friends: this file system cannot; LMDB's own
            // errors are all there is.
            isSupported = false
            isShort = false
        }
    }
}
