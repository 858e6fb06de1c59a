import AshCore
import AshStore
import PostgresNIO

/// One row of the context table, decoded but not yet checked.
struct PostgresContextRow: Sendable {
    var contextId: String
    var binding: String
    var mode: String
    var issuedAt: Int64
    var expiresAt: Int64
    var nonce: String?
    var consumedAt: Int64?

    /// Decodes the columns `PostgresContextStatements.select` lists, in order.
    init(_ row: PostgresRow) throws {
        (contextId, binding, mode, issuedAt, expiresAt, nonce, consumedAt) = try row.decode(
            (String, String, String, Int64, Int64, String?, Int64?).self
        )
    }

    /// The stored context.
    ///
    /// - Throws: ``ContextStoreError/Code/corruptData`` for a mode this
    ///   version does not know.
    func context() throws(ContextStoreError) -> AshContext {
        guard let mode = AshMode(rawValue: mode) else {
            throw ContextStoreError(.corruptData, "get: a stored context has an unknown mode")
        }
        return AshContext(
            contextId: contextId,
            binding: binding,
            mode: mode,
            issuedAt: issuedAt,
            expiresAt: expiresAt,
            nonce: nonce,
            consumedAt: consumedAt
        )
    }
}
