import AshCore
import AshStore

/// A context as the engine hands it to a ``ContextPersistence`` and gets it
/// back from recovery: ``AshContext``'s fields, with the id and the nonce in
/// their compact form when canonical, so that neither side builds strings
/// for them.
public struct PersistedContext: Sendable, Hashable {
    public var id: ContextID
    /// `"METHOD /path"`; contexts of one endpoint share one string.
    public var binding: String
    public var mode: AshMode
    public var issuedAt: Int64
    public var expiresAt: Int64
    /// The nonce, in the same compact-or-text form as ids; `nil` without one.
    public var nonce: ContextID?
    public var consumedAt: Int64?

    public init(
        id: ContextID, binding: String, mode: AshMode, issuedAt: Int64, expiresAt: Int64,
        nonce: ContextID? = nil, consumedAt: Int64? = nil
    ) {
        self.id = id
        self.binding = binding
        self.mode = mode
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.nonce = nonce
        self.consumedAt = consumedAt
    }

    /// The compact form of `context`.
    /// - Complexity: O(1) for canonical ids and nonces.
    public init(_ context: AshContext) {
        self.init(
            id: ContextID(context.contextId), binding: context.binding, mode: context.mode,
            issuedAt: context.issuedAt, expiresAt: context.expiresAt, nonce: context.nonce.map(ContextID.init),
            consumedAt: context.consumedAt)
    }

    /// Checks the fields against ``ContextLimits`` (what
    /// `ContextLimits.validate` checks of an ``AshContext``): sizes, the
    /// binding's form, and every time in `ContextLimits.timestamps`.
    /// - Throws: ``ContextStoreError/Code/invalidArgument`` naming the field.
    public func validate() throws(ContextStoreError) {
        if case .foreign(let text) = id { try ContextLimits.validateId(text) }
        try ContextLimits.validateBinding(binding)
        if case .foreign(let text) = nonce, text.utf8.count > ContextLimits.maximumIdBytes {
            throw ContextStoreError(.invalidArgument, "nonce is longer than \(ContextLimits.maximumIdBytes) bytes")
        }
        try ContextLimits.validateTimes(issuedAt: issuedAt, expiresAt: expiresAt, consumedAt: consumedAt)
    }
}

extension AshContext {
    /// The context with its id and nonce as strings.
    public init(_ persisted: PersistedContext) {
        self.init(
            contextId: persisted.id.description, binding: persisted.binding, mode: persisted.mode,
            issuedAt: persisted.issuedAt, expiresAt: persisted.expiresAt, nonce: persisted.nonce?.description,
            consumedAt: persisted.consumedAt)
    }
}
