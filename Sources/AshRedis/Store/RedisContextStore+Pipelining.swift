import AshCore
import AshStore

/// Pipelining: many commands written back to back on one connection (one
/// write, one hop), answered independently, awaited together, as
/// `redis-benchmark -P` sends them. Each command keeps its own result;
/// nothing is transactional across them.
extension RedisContextStore {
    /// Stores each context (`SET … PX … NX`), pipelined; results are in
    /// the order of `contexts`. An invalid context fails alone, unsent.
    public func put(_ contexts: [AshContext]) async -> [Result<Void, ContextStoreError>] {
        var results = [Result<Void, ContextStoreError>](repeating: .success(()), count: contexts.count)
        var commands: [RESPCommand] = []
        var keys: [String] = []
        var positions: [Int] = []
        for (position, context) in contexts.enumerated() {
            do throws(ContextStoreError) {
                commands.append(try putCommand(context))
                keys.append(key(context.contextId))
                positions.append(position)
            } catch {
                results[position] = .failure(error)
            }
        }
        for (position, reply) in zip(positions, await nodes.send(commands, keys: keys)) {
            results[position] = reply.flatMap { reply in
                Result { () throws(ContextStoreError) in try interpretPut(reply) }
            }
        }
        return results
    }

    /// Issues one context per request: ids made here, the `SET`s pipelined;
    /// results are in request order.
    public func create(_ requests: [CreateRequest]) async -> [Result<AshContextPublicInfo, ContextStoreError>] {
        await create(requests, puttingWith: put)
    }

    /// Consumes each context with the Lua script, pipelined; results are
    /// in the order of `contextIds`.
    ///
    /// Replies of `NOSCRIPT` (the server's script cache was empty) are sent
    /// again with `EVAL`, pipelined, after the first round.
    public func consume(_ contextIds: [String], now: Int64) async -> [Result<ConsumeResult, ContextStoreError>] {
        if let refusal: [Result<ConsumeResult, ContextStoreError>] = ContextLimits.refusal(
            ofConsumeTime: now, entries: contextIds.count)
        {
            return refusal
        }
        var results = [Result<ConsumeResult, ContextStoreError>](repeating: .success(.missing), count: contextIds.count)
        let positions = contextIds.indices.filter { Self.isStorable(contextIds[$0]) }
        let keys = positions.map { key(contextIds[$0]) }
        var replies = await nodes.send(
            positions.map { consumeCommand(contextIds[$0], now: now, loading: false) }, keys: keys,
            acknowledgement: consumeAcknowledgement)
        let reload = replies.indices.filter { index in
            if case .success(let reply) = replies[index] { return Self.isNoScript(reply) }
            return false
        }
        if !reload.isEmpty {
            let retried = await nodes.send(
                reload.map { consumeCommand(contextIds[positions[$0]], now: now, loading: true) },
                keys: reload.map { keys[$0] }, acknowledgement: consumeAcknowledgement)
            for (index, reply) in zip(reload, retried) { replies[index] = reply }
        }
        for (position, reply) in zip(positions, replies) {
            results[position] = reply.flatMap { reply in
                Result { () throws(ContextStoreError) in try interpretConsume(reply) }
            }
        }
        return results
    }
}

extension RedisContextStore {
    /// Sends raw commands pipelined (for tests and tools, such as
    /// ash-bench's fairness check): on one connection, or on a cluster per
    /// node of each command's key.
    package func send(_ commands: [RESPCommand], keys: [String]) async -> [Result<RESPValue, ContextStoreError>] {
        await nodes.send(commands, keys: keys)
    }
}
