import AshNIOSupport
import AshStore
import NIOCore

/// A command handed to a connection, with where its reply goes. Whoever
/// takes it out of a queue completes it exactly once.
package struct RedisRequest: Sendable {
    package var command: RESPCommand
    package var reply: RedisReply

    package init(command: RESPCommand, reply: RedisReply) {
        self.command = command
        self.reply = reply
    }
}

/// Where a command's reply (possibly an error reply) or failure goes.
package enum RedisReply: Sendable {
    /// A future-based caller (the connection handshake, tests).
    case promise(EventLoopPromise<RESPValue>)
    /// One task waits for this command alone.
    case single(UnsafeContinuation<Result<RESPValue, ContextStoreError>, Never>)
    /// Entry `index` of a pipeline whose caller waits once for all.
    case pipelined(PipelineReplies<RESPValue>, index: Int)

    /// Delivers the outcome. Call on the connection's event loop, once.
    func complete(_ result: Result<RESPValue, ContextStoreError>) {
        switch self {
        case .promise(let promise): promise.completeWith(result.mapError { $0 })
        case .single(let continuation): continuation.resume(returning: result)
        case .pipelined(let replies, let index): replies.complete(index, result)
        }
    }
}
