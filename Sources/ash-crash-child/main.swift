// A write load for the LMDB crash test: serves a ContextEngine that writes
// through to LMDB in a folder, and puts and consumes from several tasks until
// it is killed, printing one line per acknowledged change:
//
//     READY
//     ACK PUT <id> <expiresAt>
//     ACK CONSUME <id>
//
// Usage: ash-crash-child <folder> <strict|relaxed> <id-prefix> [workers] [checkpoint-interval-ms]
//
// One more worker writes as ashd's event loops do: it queues its changes
// and commits them on its own thread (`enqueue`, `commitQueued`), between
// the engine's commits and the writer's checkpoints.
//
// A line is printed only after the engine answered (so after its commit), with one write(2) per line,
// so whatever the parent reads was acknowledged. The parent kills it with
// SIGKILL at a moment of its choosing and checks the folder afterwards.

import AshCore
import AshEngine
import AshLMDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

func emit(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    var offset = 0
    while offset < bytes.count {
        let written = bytes[offset...].withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
        guard written > 0 else { exit(3) }
        offset += written
    }
}

func fail(_ message: String) -> Never {
    let bytes = Array("ash-crash-child: \(message)\n".utf8)
    _ = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    exit(2)
}

let arguments = CommandLine.arguments
guard arguments.count >= 4, let durability = Durability(rawValue: arguments[2]) else {
    fail("usage: ash-crash-child <folder> <strict|relaxed> <id-prefix> [workers] [checkpoint-interval-ms]")
}
let folder = arguments[1]
let prefix = arguments[3]
let workers = arguments.count > 4 ? Int(arguments[4]) ?? 4 : 4
// A short interval makes the kill land in checkpoints as well.
var configuration = LMDBContextPersistence.Configuration()
if arguments.count > 5, let milliseconds = Int(arguments[5]), milliseconds > 0 {
    configuration.checkpointInterval = .milliseconds(milliseconds)
}
let clock = SystemWallClock()

let engine: ContextEngine
let persistence: LMDBContextPersistence
do {
    persistence = try LMDBContextPersistence(
        directory: folder, durability: durability, configuration: configuration)
    engine = try await ContextEngine.open(configuration: EngineConfiguration(shardCount: 4), persistence: persistence)
} catch {
    fail("cannot open \(folder): \(error)")
}
// The engine's lifetime (its persistence's writer) until the parent kills it.
_ = Task { try await engine.run() }
emit("READY")

/// Queues `changes`, commits what is queued on this thread and waits for
/// the answer.
func commitQueued(_ changes: [PersistedChange]) async throws {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
        persistence.enqueue(changes) { result in continuation.resume(with: result) }
        persistence.commitQueued()
    }
}

await withTaskGroup(of: Void.self) { group in
    group.addTask {
        var previous: AshContext?
        var counter = 0
        while true {
            counter += 1
            let now = clock.nowMilliseconds()
            let expiresAt = now + (counter % 8 == 0 ? 300 : 600_000)
            let context = AshContext(
                contextId: "\(prefix)-q-\(counter)", binding: "POST /crash/q", mode: .balanced,
                issuedAt: now, expiresAt: expiresAt, nonce: counter % 2 == 0 ? "nonce-\(counter)" : nil)
            do {
                try await commitQueued([.put(context)])
                emit("ACK PUT \(context.contextId) \(expiresAt)")
                if let previous {
                    try await commitQueued([.consume(previous, at: clock.nowMilliseconds())])
                    emit("ACK CONSUME \(previous.contextId)")
                }
            } catch {
                fail("queued commit failed: \(error)")
            }
            previous = context
        }
    }
    for worker in 0..<workers {
        group.addTask {
            var previous: String?
            var previousExpiresAt: Int64 = 0
            var counter = 0
            while true {
                counter += 1
                let now = clock.nowMilliseconds()
                // Every 8th context lives 300 ms, so some acknowledged ones
                // have expired by the time the parent checks.
                let expiresAt = now + (counter % 8 == 0 ? 300 : 600_000)
                let contextId = "\(prefix)-\(worker)-\(counter)"
                let context = AshContext(
                    contextId: contextId, binding: "POST /crash/\(worker)", mode: .balanced,
                    issuedAt: now, expiresAt: expiresAt, nonce: counter % 2 == 0 ? "nonce-\(counter)" : nil)
                do {
                    try await engine.put(context)
                    emit("ACK PUT \(contextId) \(expiresAt)")
                    if let previous {
                        let at = clock.nowMilliseconds()
                        switch try await engine.consume(previous, now: at) {
                        case .consumed: emit("ACK CONSUME \(previous)")
                        case .missing where previousExpiresAt <= at: break  // a short-lived one expired first
                        case let result: fail("consume of \(previous) answered \(result)")
                        }
                    }
                } catch {
                    fail("commit failed: \(error)")
                }
                previous = contextId
                previousExpiresAt = expiresAt
            }
        }
    }
}
