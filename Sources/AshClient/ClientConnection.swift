import AshStore
import AshWire
import NIOCore
import Synchronization

/// A request handed to a connection, with where its reply goes. Whoever
/// takes it out of a queue completes it exactly once.
struct ClientRequest: Sendable {
    typealias Continuation = UnsafeContinuation<Result<WireResponse, ContextStoreError>, Never>

    /// Where a reply is delivered.
    enum Reply: Sendable {
        /// One caller waits for this request alone.
        case single(Continuation)
        /// Entry `index` of a pipelined group.
        case pipelined(PipelinedReplies, index: Int)

        /// Delivers the reply (or failure).
        func complete(_ result: Result<WireResponse, ContextStoreError>) {
            switch self {
            case .single(let continuation): continuation.resume(returning: result)
            case .pipelined(let group, let index): group.complete(index, result)
            }
        }
    }

    var request: WireRequest
    var reply: Reply
}

/// The replies of requests sent back to back on one connection: their
/// caller waits once, for all of them.
///
/// Completed only on the connection's event loop (by its handler, or by
/// the write failure callback, which runs there too).
final class PipelinedReplies: @unchecked Sendable {
    private var results: [Result<WireResponse, ContextStoreError>]
    private var remaining: Int
    private let continuation: UnsafeContinuation<[Result<WireResponse, ContextStoreError>], Never>

    init(count: Int, continuation: UnsafeContinuation<[Result<WireResponse, ContextStoreError>], Never>) {
        results = Array(repeating: .failure(ContextStoreError(.unavailable, "no reply")), count: count)
        remaining = count
        self.continuation = continuation
    }

    func complete(_ index: Int, _ result: Result<WireResponse, ContextStoreError>) {
        results[index] = result
        remaining -= 1
        if remaining == 0 { continuation.resume(returning: results) }
    }
}

/// One open connection to ashd, usable from any task.
///
/// Requests submitted from outside the channel's event loop are queued
/// and handed to the loop in batches: the first request of a batch
/// schedules one task on the loop, the ones that arrive before it runs
/// ride along. Each batch is written with one flush, so concurrent callers
/// share hops and `write` syscalls instead of paying one each.
final class ClientConnection: Sendable {
    let channel: any Channel
    private let queue = Mutex(Queue())

    private struct Queue: ~Copyable {
        var requests: [ClientRequest] = []
        var drainScheduled = false
    }

    init(channel: any Channel) {
        self.channel = channel
    }

    var isActive: Bool { channel.isActive }

    /// Sends `requests` back to back; each is completed with its reply or
    /// a failure.
    func submit(_ requests: [ClientRequest]) {
        if channel.eventLoop.inEventLoop {
            write(requests)
            return
        }
        let scheduleDrain = queue.withLock { queue in
            queue.requests.append(contentsOf: requests)
            guard !queue.drainScheduled else { return false }
            queue.drainScheduled = true
            return true
        }
        if scheduleDrain {
            channel.eventLoop.execute { self.drain() }
        }
    }

    private func drain() {
        let batch = queue.withLock { queue in
            queue.drainScheduled = false
            var batch: [ClientRequest] = []
            batch.reserveCapacity(queue.requests.count)
            swap(&batch, &queue.requests)
            return batch
        }
        write(batch)
    }

    private func write(_ batch: [ClientRequest]) {
        channel.writeAndFlush(batch).whenFailure { _ in
            // The handler never took the batch: the channel had closed.
            for request in batch { request.reply.complete(.failure(ContextStoreError(.unavailable, "connection closed"))) }
        }
    }
}
