import AshNIOSupport
import AshStore
import AshWire
import NIOCore

/// A request handed to a connection, with where its reply goes. Whoever
/// takes it out of a queue completes it exactly once.
struct ClientRequest: Sendable {
    typealias Continuation = UnsafeContinuation<Result<WireResponse, ContextStoreError>, Never>

    /// Where a reply is delivered.
    enum Reply: Sendable {
        /// One caller waits for this request alone.
        case single(Continuation)
        /// Entry `index` of a pipelined group.
        case pipelined(PipelineReplies<WireResponse>, index: Int)

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

/// One open connection to ashd, usable from any task: requests from
/// other threads reach the event loop in batches (``ChannelBatchQueue``).
final class ClientConnection: Sendable {
    let channel: any Channel
    /// The limits the server announced in its HELLO reply.
    let serverLimits: WireLimits
    private let outbound: ChannelBatchQueue<ClientRequest>

    init(channel: any Channel, serverLimits: WireLimits) {
        self.channel = channel
        self.serverLimits = serverLimits
        self.outbound = ChannelBatchQueue(channel: channel) { batch, _ in
            // The handler never took the batch: the channel had closed.
            for request in batch {
                request.reply.complete(.failure(ContextStoreError(.unavailable, "connection closed")))
            }
        }
        outbound.attach(ClientConnectionHandler.self)
    }

    var isActive: Bool { channel.isActive }

    /// Sends `requests` back to back; each is completed with its reply or
    /// a failure.
    func submit(_ requests: [ClientRequest]) {
        outbound.submit(requests)
    }
}
