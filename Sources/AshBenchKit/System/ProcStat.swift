/// The fields of `/proc/<pid>/stat` the benchmark needs.
///
/// The second field, the command name, is in parentheses and may itself
/// contain spaces and parentheses, so parsing starts after the *last* `)`.
package struct ProcStat: Sendable, Hashable {
    package var pid: Int32
    package var parentPID: Int32
    /// CPU time in user mode, in clock ticks.
    package var userTicks: UInt64
    /// CPU time in kernel mode, in clock ticks.
    package var systemTicks: UInt64
    /// User time of waited-for children, in clock ticks.
    package var childrenUserTicks: UInt64
    /// System time of waited-for children, in clock ticks.
    package var childrenSystemTicks: UInt64
    /// Resident set size, in pages.
    package var residentPages: Int64

    package init(
        pid: Int32, parentPID: Int32, userTicks: UInt64, systemTicks: UInt64,
        childrenUserTicks: UInt64, childrenSystemTicks: UInt64, residentPages: Int64
    ) {
        self.pid = pid
        self.parentPID = parentPID
        self.userTicks = userTicks
        self.systemTicks = systemTicks
        self.childrenUserTicks = childrenUserTicks
        self.childrenSystemTicks = childrenSystemTicks
        self.residentPages = residentPages
    }

    /// Parses the text of `/proc/<pid>/stat`.
    /// - Throws: ``BenchError/Code/malformedInput`` when fields are missing.
    package init(parsing text: String) throws(BenchError) {
        guard let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")"), open < close else {
            throw BenchError(.malformedInput, "/proc stat line without (comm)")
        }
        guard let pid = Int32(text[..<open].trimmingSpaces) else {
            throw BenchError(.malformedInput, "/proc stat line without a pid")
        }
        // Field 3 (state) is the first after the command name.
        let fields = text[text.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
        func field(_ number: Int) throws(BenchError) -> Substring {
            let index = number - 3
            guard index < fields.count else {
                throw BenchError(.malformedInput, "/proc stat line has no field \(number)")
            }
            return fields[index]
        }
        func unsigned(_ number: Int) throws(BenchError) -> UInt64 {
            guard let value = UInt64(try field(number)) else {
                throw BenchError(.malformedInput, "/proc stat field \(number) is not a number")
            }
            return value
        }
        guard let parent = Int32(try field(4)), let resident = Int64(try field(24)) else {
            throw BenchError(.malformedInput, "/proc stat ppid or rss is not a number")
        }
        self.init(
            pid: pid, parentPID: parent,
            userTicks: try unsigned(14), systemTicks: try unsigned(15),
            childrenUserTicks: try unsigned(16), childrenSystemTicks: try unsigned(17),
            residentPages: resident)
    }

    /// Own user + system ticks.
    package var ownTicks: UInt64 { userTicks + systemTicks }

    /// Own ticks plus those of children that have exited and were waited for.
    package var ticksWithExitedChildren: UInt64 { ownTicks + childrenUserTicks + childrenSystemTicks }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var text = self
        while text.first == " " { text = text.dropFirst() }
        while text.last == " " { text = text.dropLast() }
        return text
    }
}
