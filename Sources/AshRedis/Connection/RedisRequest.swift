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
    case pipelined(RedisPipelineReplies, index: Int)

    /// Delivers the outcome. Call on the connection's event loop, once.
    func complete(_ result: Result<RESPValue, ContextStoreError>) {
        switch self {
        case .promise(let promise): promise.completeWith(result.mapError { $0 })
        case .single(let continuation): continuation.resume(returning: result)
        case .pipelined(let replies, let index): replies.complete(index, result)
        }
    }
}

/// The replies of commands sent back to back on one connection; their
/// caller is resumed once, when the last one is in.
///
/// Completed only on the connection's event loop (by its handler, or by
/// the write-failure callback, which runs there too).
package final class RedisPipelineReplies: @unchecked Sendable {
    private var results: [Result<RESPValue, ContextStoreError>]
    private var remaining: Int
    private let continuation: UnsafeContinuation<[Result<RESPValue, ContextStoreError>], Never>

    /// - Parameter count: the number of commands; at least one.
    package init(count: Int, continuation: UnsafeContinuation<[Result<RESPValue, ContextStoreError>], Never>) {
        precondition(count > 0, "a pipeline holds at least one command")
        results = Array(repeating: .success(.null), count: count)
        remaining = count
        self.continuation = continuation
    }

    func complete(_ index: Int, _ result: Result<RESPValue, ContextStoreError>) {
        results[index] = result
        remaining -= 1
        if remaining == 0 { continuation.resume(returning: results) }
    }
}
