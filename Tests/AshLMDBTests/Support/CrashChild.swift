import Foundation
import Testing

/// The `ash-crash-child` executable, run with its stdout on a pipe.
///
/// Lines are read on a thread of their own, so blocking reads never hold a
/// thread of Swift's cooperative pool.
final class CrashChild: @unchecked Sendable {
    /// The process id.
    let pid: Int32
    private let process: Process
    private let output: Pipe
    private let errors: Pipe
    // Touched by one reading thread at a time: reads are awaited in turn.
    private var pending: [UInt8] = []
    private var reachedEnd = false

    /// Starts the child on `folder`.
    init(
        folder: String, durability: String, prefix: String, workers: Int = 4, checkpointMilliseconds: Int = 0
    ) throws {
        process = Process()
        process.executableURL = try Self.executable()
        process.arguments = [folder, durability, prefix, String(workers), String(checkpointMilliseconds)]
        output = Pipe()
        errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        pid = process.processIdentifier
    }

    /// Reads up to `count` lines; fewer only when the child's output ends.
    func readLines(_ count: Int) async -> [String] {
        await withCheckedContinuation { continuation in
            let thread = Thread { [self] in continuation.resume(returning: readBlocking(count)) }
            thread.start()
        }
    }

    /// Reads every remaining line, until the child's output ends.
    func readRemainingLines() async -> [String] {
        await readLines(.max)
    }

    /// Kills the child with SIGKILL and waits for it.
    func kill() {
        _ = Foundation.kill(pid, SIGKILL)
        process.waitUntilExit()
    }

    /// Whether the child died from a signal (not from an error of its own).
    var wasKilled: Bool {
        process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL
    }

    /// What the child wrote to stderr (after it ended).
    var errorOutput: String {
        String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }

    private func readBlocking(_ count: Int) -> [String] {
        var lines: [String] = []
        let descriptor = output.fileHandleForReading.fileDescriptor
        var chunk = [UInt8](repeating: 0, count: 4096)
        while lines.count < count {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                lines.append(String(decoding: pending[..<newline], as: UTF8.self))
                pending.removeSubrange(...newline)
                continue
            }
            if reachedEnd { break }
            let read = chunk.withUnsafeMutableBytes { Foundation.read(descriptor, $0.baseAddress, $0.count) }
            if read > 0 {
                pending += chunk[..<read]
            } else if read == 0 || errno != EINTR {
                reachedEnd = true
            }
        }
        return lines
    }

    /// The built `ash-crash-child`: `ASH_CRASH_CHILD` if set, else next to
    /// the test bundle in the build products folder.
    static func executable() throws -> URL {
        if let path = ProcessInfo.processInfo.environment["ASH_CRASH_CHILD"] {
            return URL(fileURLWithPath: path)
        }
        var folders: [URL] = []
        #if os(Linux)
        folders.append(URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent())
        #endif
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            folders.append(bundle.bundleURL.deletingLastPathComponent())
        }
        folders.append(Bundle.main.bundleURL)
        for folder in folders {
            let candidate = folder.appendingPathComponent("ash-crash-child")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw ChildNotFound(searched: folders.map(\.path))
    }

    struct ChildNotFound: Error, CustomStringConvertible {
        let searched: [String]
        var description: String {
            "ash-crash-child was not found in \(searched); build it (swift build --product ash-crash-child) "
                + "or set ASH_CRASH_CHILD to its path"
        }
    }
}
