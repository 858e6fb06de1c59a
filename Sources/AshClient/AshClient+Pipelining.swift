import AshCore
import AshStore
import AshWire

/// Pipelining: many requests written back to back on one connection (one
/// write, one hop), answered independently, awaited together — what
/// `redis-benchmark -P` does. Each request is still its own command on the
/// server, with its own result; unlike a batch command, nothing ties them
/// together.
extension AshClient {
    /// Issues one context per request, pipelined; results are in request
    /// order.
    public func create(_ requests: [CreateRequest]) async -> [Result<AshContextPublicInfo, ContextStoreError>] {
        await pipelined(
            requests,
            prepare: { request throws(ContextStoreError) in
                try request.validate()
                return .send(.create(request))
            }, extract: { if case .created(let info) = $0 { info } else { nil } })
    }

    /// Consumes each context at `now`, pipelined; results are in the order
    /// of `contextIds`.
    public func consume(_ contextIds: [String], now: Int64) async -> [Result<ConsumeResult, ContextStoreError>] {
        await pipelined(
            contextIds,
            prepare: { contextId throws(ContextStoreError) in
                guard WireProtocol.contextIdBytes.contains(contextId.utf8.count) else { return .answer(.missing) }
                return .send(.consume(WireConsume(contextId: contextId, now: now)))
            }, extract: { if case .consumed(let outcome) = $0 { outcome } else { nil } })
    }

    /// Reads each context, pipelined; results are in the order of
    /// `contextIds` (`nil`: unknown, or past its grace).
    public func get(_ contextIds: [String]) async -> [Result<AshContext?, ContextStoreError>] {
        await pipelined(
            contextIds,
            prepare: { contextId throws(ContextStoreError) in
                guard WireProtocol.contextIdBytes.contains(contextId.utf8.count) else { return .answer(nil) }
                return .send(.get(contextId: contextId))
            }, extract: { if case .context(let context) = $0 { .some(context) } else { nil } })
    }

    /// What to do with one input of a pipeline.
    private enum Prepared<Value> {
        /// Send this request.
        case send(WireRequest)
        /// The answer is known without asking (an id no context can have).
        case answer(Value)
    }

    /// Prepares each input, sends the requests as one pipeline, and maps
    /// each reply; an invalid input fails alone, without being sent.
    private func pipelined<Input, Value>(
        _ inputs: [Input],
        prepare: (Input) throws(ContextStoreError) -> Prepared<Value>,
        extract: @escaping (WireResponse) -> Value?
    ) async -> [Result<Value, ContextStoreError>] {
        var results = [Result<Value, ContextStoreError>?](repeating: nil, count: inputs.count)
        var requests: [WireRequest] = []
        var positions: [Int] = []
        requests.reserveCapacity(inputs.count)
        positions.reserveCapacity(inputs.count)
        for (position, input) in inputs.enumerated() {
            do throws(ContextStoreError) {
                switch try prepare(input) {
                case .send(let request):
                    requests.append(request)
                    positions.append(position)
                case .answer(let value):
                    results[position] = .success(value)
                }
            } catch {
                results[position] = .failure(error)
            }
        }
        let replies = await pipeline(requests)
        for (position, reply) in zip(positions, replies) {
            results[position] = reply.flatMap { response in
                Result { () throws(ContextStoreError) in try expect(response, extract) }
            }
        }
        return results.map { $0! }
    }
}
