import AshCore
import AshEngine
import AshLMDB
import Foundation

/// A fresh folder under the system's temporary directory, removed by
/// ``remove()``.
struct TestFolder {
    /// The folder that holds ``path``; it exists.
    let parent: String
    /// A path inside ``parent`` that does not exist yet.
    let path: String

    init(_ name: String = "store") throws {
        parent = NSTemporaryDirectory() + "ash-lmdb-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        path = parent + "/" + name
    }

    func file(_ name: String) -> String { path + "/" + name }

    func remove() {
        try? FileManager.default.removeItem(atPath: parent)
    }
}

/// Times used by the tests (Unix ms); nothing reads the real clock.
enum TestTime {
    static let base: Int64 = 1_767_225_600_000
}

/// A context with the fields the tests vary.
func makeContext(
    _ contextId: String,
    expiresAt: Int64 = TestTime.base + 600_000,
    nonce: String? = nil,
    mode: AshMode = .balanced,
    consumedAt: Int64? = nil
) -> AshContext {
    AshContext(
        contextId: contextId, binding: "POST /api/orders/\(contextId.count)", mode: mode,
        issuedAt: TestTime.base, expiresAt: expiresAt, nonce: nonce, consumedAt: consumedAt)
}

extension LMDBContextPersistence {
    /// Every context `recover` hands back, by id.
    func recoveredContexts(now: Int64) async throws -> [String: AshContext] {
        var contexts: [String: AshContext] = [:]
        try await recover(now: now) { persisted in
            let context = AshContext(persisted)
            precondition(contexts.updateValue(context, forKey: context.contextId) == nil, "visited twice")
        }
        return contexts
    }
}

extension TestFolder {
    /// What a store reopened here with `durability` recovers at
    /// `TestTime.base` (it is closed again).
    func recovered(_ durability: Durability) async throws -> [String: AshContext] {
        let store = try LMDBContextPersistence(directory: path, durability: durability)
        store.start()
        let contexts = try await store.recoveredContexts(now: TestTime.base)
        try await store.close()
        return contexts
    }
}
