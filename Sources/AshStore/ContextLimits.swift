import AshCore

/// The field limits every store enforces, from the reference SQL schema.
public enum ContextLimits {
    /// `context_id VARCHAR(64)`; also the nonce.
    public static let maximumIdBytes = 64
    /// `binding VARCHAR(255)`.
    public static let maximumBindingBytes = 255

    /// Checks a context before it is stored.
    ///
    /// - Throws: ``ContextStoreError/Code/invalidArgument`` naming the field.
    public static func validate(_ context: AshContext) throws(ContextStoreError) {
        try validateId(context.contextId)
        try validateBinding(context.binding)
        if let nonce = context.nonce, nonce.utf8.count > maximumIdBytes {
            throw ContextStoreError(.invalidArgument, "nonce is longer than \(maximumIdBytes) bytes")
        }
        guard context.expiresAt > context.issuedAt else {
            throw ContextStoreError(.invalidArgument, "expiresAt must be after issuedAt")
        }
    }

    /// Checks a context id: 1 to 64 bytes of UTF-8.
    public static func validateId(_ contextId: String) throws(ContextStoreError) {
        let count = contextId.utf8.count
        guard count > 0 else { throw ContextStoreError(.invalidArgument, "context id is empty") }
        guard count <= maximumIdBytes else {
            throw ContextStoreError(.invalidArgument, "context id is longer than \(maximumIdBytes) bytes")
        }
    }

    /// Checks a binding: 1 to 255 bytes of UTF-8.
    public static func validateBinding(_ binding: String) throws(ContextStoreError) {
        let count = binding.utf8.count
        guard count > 0 else { throw ContextStoreError(.invalidArgument, "binding is empty") }
        guard count <= maximumBindingBytes else {
            throw ContextStoreError(.invalidArgument, "binding is longer than \(maximumBindingBytes) bytes")
        }
    }
}
