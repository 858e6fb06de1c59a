import AshStore

/// The replies of requests sent back to back on one connection: their
/// caller is resumed once, with every result in request order, when the
/// last one is in.
///
/// Completed only on the connection's event loop (by its handler, or by a
/// write-failure callback, which runs there too), each index exactly once.
///
/// `public` and `@inlinable` (the module is not a product) so that each
/// client gets code specialized for its reply type: `package` inlinable
/// bodies are not specialized across modules (measured: an unspecialized
/// `complete` and runtime metadata lookups on every reply).
public final class PipelineReplies<Reply: Sendable>: @unchecked Sendable {
    @usableFromInline var results: [Result<Reply, ContextStoreError>]
    @usableFromInline var remaining: Int
    @usableFromInline let continuation: UnsafeContinuation<[Result<Reply, ContextStoreError>], Never>

    /// - Parameters:
    ///   - count: the number of requests; at least one.
    ///   - unanswered: what each slot holds until its result arrives.
    @inlinable
    public init(
        count: Int,
        unanswered: Result<Reply, ContextStoreError>,
        continuation: UnsafeContinuation<[Result<Reply, ContextStoreError>], Never>
    ) {
        precondition(count > 0, "a pipeline holds at least one request")
        results = Array(repeating: unanswered, count: count)
        remaining = count
        self.continuation = continuation
    }

    /// Delivers the result of request `index`.
    @inlinable
    public func complete(_ index: Int, _ result: Result<Reply, ContextStoreError>) {
        results[index] = result
        remaining -= 1
        if remaining == 0 { continuation.resume(returning: results) }
    }
}
