import AshStore

/// How the writer answers one queued commit: a task suspended in
/// ``LMDBContextPersistence/commit(_:isolation:)``, or a callback given to
/// ``LMDBContextPersistence/enqueue(_:completion:)`` (an event loop that
/// answers its requests itself).
enum CommitWaiter: Sendable {
    case task(CheckedContinuation<Result<Void, ContextStoreError>, Never>)
    case callback(@Sendable (Result<Void, ContextStoreError>) -> Void)

    /// Answers the commit, once.
    func resume(returning result: Result<Void, ContextStoreError>) {
        switch self {
        case .task(let continuation): continuation.resume(returning: result)
        case .callback(let completion): completion(result)
        }
    }
}
