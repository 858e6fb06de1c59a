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
    public func create(_ requests: [WireCreate]) async -> [Result<AshContextPublicInfo, ContextStoreError>] {
        await pipelined(requests, validate: { create throws(ContextStoreError) in
            try ContextLimits.validateBinding(create.binding)
            guard create.ttlMilliseconds > 0 else { throw ContextStoreError(.invalidArgument, "ttl must be positive") }
            return .create(create)
        }, extract: { if case .created(let info) = $0 { info } else { nil } })
    }

    /// Consumes each context, pipelined; `now` nil uses the server's clock.
    /// Results are in the order of `contextIds`.
    public func consumeOutcomes(
        _ contextIds: [String],
        now: Int64? = nil
    ) async -> [Result<WireConsumeOutcome, ContextStoreError>] {
        await pipelined(contextIds, validate: { contextId throws(ContextStoreError) in
            try ContextLimits.validateId(contextId)
            return .consume(WireConsume(contextId: contextId, now: now))
        }, extract: { if case .consumed(let outcome) = $0 { outcome } else { nil } })
    }

    /// Reads each context, pipelined; results are in the order of
    /// `contextIds` (`nil`: missing or expired).
    public func get(_ contextIds: [String]) async -> [Result<AshContext?, ContextStoreError>] {
        await pipelined(contextIds, validate: { contextId throws(ContextStoreError) in
            try ContextLimits.validateId(contextId)
            return .get(contextId: contextId)
        }, extract: { if case .context(let context) = $0 { .some(context) } else { nil } })
    }

    /// Validates each input, sends the valid ones as one pipeline, and
    /// maps each reply; an invalid input fails alone, without being sent.
    private func pipelined<Input, Value>(
        _ inputs: [Input],
        validate: (Input) throws(ContextStoreError) -> WireRequest,
        extract: @escaping (WireResponse) -> Value?
    ) async -> [Result<Value, ContextStoreError>] {
        var results = [Result<Value, ContextStoreError>?](repeating: nil, count: inputs.count)
        var requests: [WireRequest] = []
        var positions: [Int] = []
        requests.reserveCapacity(inputs.count)
        positions.reserveCapacity(inputs.count)
        for (position, input) in inputs.enumerated() {
            do throws(ContextStoreError) {
                requests.append(try validate(input))
                positions.append(position)
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
