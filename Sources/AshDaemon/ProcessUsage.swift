#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What this process has used: CPU time since start and resident memory.
/// Reported in STATS so an operator (or `ash-bench`) can see the server's
/// cost without access to its host.
struct ProcessUsage: Sendable, Hashable {
    var userMicroseconds: Int64
    var systemMicroseconds: Int64
    /// Resident set size; `nil` where the platform does not say.
    var residentBytes: Int64?

    /// The current figures.
    static func current() -> ProcessUsage {
        var usage = rusage()
        #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        return ProcessUsage(
            userMicroseconds: Int64(usage.ru_utime.tv_sec) * 1_000_000 + Int64(usage.ru_utime.tv_usec),
            systemMicroseconds: Int64(usage.ru_stime.tv_sec) * 1_000_000 + Int64(usage.ru_stime.tv_usec),
            residentBytes: residentBytes()
        )
    }

    /// Linux: the second field of `/proc/self/statm` (pages) times the page size.
    private static func residentBytes() -> Int64? {
        #if os(Linux)
        guard let file = fopen("/proc/self/statm", "r") else { return nil }
        defer { fclose(file) }
        var bytes = [UInt8](repeating: 0, count: 128)
        let count = fread(&bytes, 1, bytes.count, file)
        let fields = bytes[0..<count].split(separator: 0x20)
        guard fields.count >= 2, let pages = Int64(String(decoding: fields[1], as: UTF8.self)) else { return nil }
        return pages * Int64(sysconf(Int32(_SC_PAGESIZE)))
        #else
        return nil
        #endif
    }
}
