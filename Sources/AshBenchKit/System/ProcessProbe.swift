import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads CPU time and resident memory of local processes from `/proc`.
package enum ProcessProbe {
    /// Clock ticks per second (`sysconf(_SC_CLK_TCK)`).
    package static var ticksPerSecond: Double { Double(max(1, sysconf(Int32(_SC_CLK_TCK)))) }
    /// Bytes per page.
    package static var pageSize: Int64 { Int64(max(1, sysconf(Int32(_SC_PAGESIZE)))) }

    /// `/proc/<pid>/stat` parsed, or `nil` when the process is gone or `/proc` is absent.
    package static func stat(of pid: Int32) -> ProcStat? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return nil }
        return try? ProcStat(parsing: text)
    }

    /// CPU seconds of a process alone.
    package static func cpuSeconds(of pid: Int32) -> Double? {
        stat(of: pid).map { Double($0.ownTicks) / ticksPerSecond }
    }

    /// CPU seconds of a process tree: the process, the children it has
    /// waited for, and its live children (PostgreSQL's backends).
    package static func treeCPUSeconds(of pid: Int32) -> Double? {
        guard let root = stat(of: pid) else { return nil }
        let children = childStats(of: pid)
        return treeCPUSeconds(root: root, children: children, ticksPerSecond: ticksPerSecond)
    }

    /// The arithmetic of ``treeCPUSeconds(of:)``, for tests.
    package static func treeCPUSeconds(root: ProcStat, children: [ProcStat], ticksPerSecond: Double) -> Double {
        let ticks = children.reduce(root.ticksWithExitedChildren) { $0 + $1.ownTicks }
        return Double(ticks) / ticksPerSecond
    }

    /// Resident bytes of a process.
    package static func residentBytes(of pid: Int32) -> Int64? {
        stat(of: pid).map { $0.residentPages * pageSize }
    }

    /// Resident bytes of this process.
    package static func selfResidentBytes() -> Int64? {
        residentBytes(of: getpid())
    }

    /// The direct children of `pid` that are alive now.
    package static func childStats(of pid: Int32) -> [ProcStat] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { entry in
            guard let child = Int32(entry) else { return nil }
            guard let stat = stat(of: child), stat.parentPID == pid else { return nil }
            return stat
        }
    }
}
