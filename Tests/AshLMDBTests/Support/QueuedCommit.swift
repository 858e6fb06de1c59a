import AshEngine
import AshLMDB
import AshStore
import Synchronization

/// How a queued commit was answered.
struct QueuedCommitAnswer {
    /// Whether its completion ran before `commitQueued` returned (it was
    /// committed on the calling thread).
    var here: Bool
    var result: Result<Void, ContextStoreError>

    /// The failure, if it failed.
    var failure: ContextStoreError? {
        guard case .failure(let error) = result else { return nil }
        return error
    }
}

extension LMDBContextPersistence {
    /// Queues `changes`, commits what is queued on this thread (as an
    /// event loop of ashd does once per round of reads), and waits for the
    /// answer.
    func commitHere(_ changes: [PersistedChange]) async -> QueuedCommitAnswer {
        let answered = Mutex(false)
        let (stream, continuation) = AsyncStream<Result<Void, ContextStoreError>>.makeStream()
        enqueue(changes) { result in
            answered.withLock { $0 = true }
            continuation.yield(result)
            continuation.finish()
        }
        commitQueued()
        let here = answered.withLock { $0 }
        var results = stream.makeAsyncIterator()
        let result = await results.next() ?? .failure(ContextStoreError(.internalFailure, "no answer"))
        return QueuedCommitAnswer(here: here, result: result)
    }
}
