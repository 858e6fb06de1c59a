import AshStore
import NIOCore
import NIOSSL
import Synchronization

/// The nodes of a Redis Cluster: a ``ClusterSlotMap`` read with
/// `CLUSTER SLOTS`, a ``RedisConnectionPool`` per primary, and the
/// redirections and retries that keep commands on the right node.
///
/// - `MOVED`: the slot lives elsewhere; the map is corrected and the command
///   sent there.
/// - `ASK`: this key is being migrated; the command is sent once to the
///   node named, after `ASKING` on the same connection.
/// - `TRYAGAIN`, `CLUSTERDOWN`: retried after 10, 20, 40, 80 and 160 ms
///   (the map is read again after `CLUSTERDOWN`).
/// - A connection failure or timeout reaches the caller at once — the
///   command may have run — and the map is read again, so the next command
///   finds a promoted replica.
///
/// At most ``maximumRedirects`` redirections per command. The map is read
/// on first use, after those errors (at most every 100 ms) and
/// periodically while the store runs.
final class RedisClusterRouter: Sendable {
    let configuration: RedisConfiguration
    private let eventLoopGroup: any EventLoopGroup
    private let sslContext: NIOSSLContext?
    private let state = Mutex(State())

    private struct State {
        var slots = ClusterSlotMap()
        var isLoaded = false
        var pools: [RedisServerAddress: RedisConnectionPool] = [:]
        /// The read of the map in flight, which others may wait for.
        var refresh: EventLoopPromise<Void>?
        var lastRefresh: ContinuousClock.Instant?
        var isShutDown = false
    }

    /// Redirections (`MOVED`, `ASK`) one command follows before failing.
    static let maximumRedirects = 5
    /// The waits before retrying `TRYAGAIN` and `CLUSTERDOWN`: 310 ms in all.
    static let retryDelays: [Duration] = [10, 20, 40, 80, 160].map { .milliseconds($0) }
    /// Reads of the map after errors are at least this far apart.
    static let refreshSpacing: Duration = .milliseconds(100)
    /// At most this many nodes get a pool, whatever the cluster reports.
    static let maximumNodes = 1_024

    /// - Throws: ``ContextStoreError/Code/invalidArgument`` for an invalid
    ///   configuration or TLS settings NIOSSL rejects.
    init(configuration: RedisConfiguration, eventLoopGroup: any EventLoopGroup) throws(ContextStoreError) {
        try configuration.validate()
        precondition(configuration.isCluster, "a cluster router needs cluster nodes")
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.sslContext = try RedisConnectionPool.makeSSLContext(configuration)
    }

    // MARK: Sending

    /// Sends `commands` back to back on one connection of the primary
    /// serving `slot`, following redirections; returns each reply (possibly
    /// an error reply) or failure, in order. Redirections and retries are
    /// decided on the first command's reply.
    func send(_ commands: [RESPCommand], slot: HashSlot) async -> [Result<RESPValue, ContextStoreError>] {
        var asking: RedisServerAddress?
        var redirects = 0
        var retries = 0
        while true {
            let address: RedisServerAddress
            let pool: RedisConnectionPool
            do {
                if let target = asking {
                    (address, pool) = (target, try self.pool(for: target))
                } else {
                    (address, pool) = try await route(slot)
                }
            } catch {
                return Array(repeating: .failure(error), count: commands.count)
            }
            var replies: [Result<RESPValue, ContextStoreError>]
            if asking != nil {
                replies = Array(await pool.send([RESPCommand("ASKING")] + commands).dropFirst())
                asking = nil
            } else {
                replies = await pool.send(commands)
            }
            switch replies[0] {
            case .failure(let error):
                if error.code == .unavailable || error.code == .timedOut {
                    try? await refresh(avoiding: address, waiting: false)
                }
                return replies
            case .success(.error(let reply)):
                if let redirect = ClusterRedirect(reply, replyingNode: address) {
                    redirects += 1
                    guard redirects <= Self.maximumRedirects else {
                        let error = ContextStoreError(
                            .unavailable,
                            "the Redis Cluster redirected a command more than \(Self.maximumRedirects) times")
                        return Array(repeating: .failure(error), count: commands.count)
                    }
                    switch redirect.kind {
                    case .moved:
                        do {
                            try state.withLock { state throws(ContextStoreError) in
                                try state.slots.assign(redirect.slot, to: redirect.address)
                            }
                        } catch {
                            return Array(repeating: .failure(error), count: commands.count)
                        }
                    case .ask:
                        asking = redirect.address
                    }
                    continue
                }
                guard reply.kind == "TRYAGAIN" || reply.kind == "CLUSTERDOWN", retries < Self.retryDelays.count else {
                    return replies
                }
                if reply.kind == "CLUSTERDOWN" { try? await refresh(avoiding: nil, waiting: false) }
                try? await Task.sleep(for: Self.retryDelays[retries])
                retries += 1
            default:
                return replies
            }
        }
    }

    /// Sends each command to the primary serving its key, pipelined per
    /// node (the nodes in parallel), and returns the replies in the order
    /// of `commands`. With `acknowledgement`, each node's pipeline ends
    /// with `WAIT`, which settles the replies before it. Commands that got
    /// a redirection or `TRYAGAIN`/`CLUSTERDOWN` are sent again one by one.
    func send(
        _ commands: [RESPCommand],
        keys: [String],
        acknowledgement: ReplicaAcknowledgement?
    ) async -> [Result<RESPValue, ContextStoreError>] {
        precondition(commands.count == keys.count, "one key per command")
        guard !commands.isEmpty else { return [] }
        let slots = keys.map(HashSlot.init(key:))
        var results = [Result<RESPValue, ContextStoreError>](repeating: .success(.null), count: commands.count)
        var groups: [RedisServerAddress: (pool: RedisConnectionPool, indices: [Int])] = [:]
        var alone: [Int] = []
        do {
            try await loadIfNeeded()
            try state.withLock { state throws(ContextStoreError) in
                for (index, slot) in slots.enumerated() {
                    guard let owner = state.slots.owner(of: slot) else {
                        alone.append(index)
                        continue
                    }
                    if groups[owner] == nil { groups[owner] = (try Self.pool(for: owner, in: &state, self), []) }
                    groups[owner]!.indices.append(index)
                }
            }
        } catch {
            return Array(repeating: .failure(error), count: commands.count)
        }
        let wait = acknowledgement
        @Sendable func pipeline(
            _ address: RedisServerAddress, _ pool: RedisConnectionPool, _ indices: [Int]
        ) async -> [Result<RESPValue, ContextStoreError>] {
            var sent = indices.map { commands[$0] }
            if let wait { sent.append(wait.command) }
            var replies = await pool.send(sent)
            wait?.settle(&replies, endpoint: address.description)
            return replies
        }
        if groups.count == 1, let (address, (pool, indices)) = groups.first {
            // One node: no child task.
            for (index, reply) in zip(indices, await pipeline(address, pool, indices)) { results[index] = reply }
        } else {
            await withTaskGroup(of: ([Int], [Result<RESPValue, ContextStoreError>]).self) { group in
                for (address, (pool, indices)) in groups {
                    group.addTask { (indices, await pipeline(address, pool, indices)) }
                }
                for await (indices, replies) in group {
                    for (index, reply) in zip(indices, replies) { results[index] = reply }
                }
            }
        }
        var failedNodes = false
        for index in results.indices {
            switch results[index] {
            case .success(.error(let reply)) where Self.isRetried(reply):
                alone.append(index)
            case .failure(let error) where error.code == .unavailable || error.code == .timedOut:
                failedNodes = true
            default:
                break
            }
        }
        if failedNodes { try? await refresh(avoiding: nil, waiting: false) }
        for index in alone {
            var sent = [commands[index]]
            if let wait { sent.append(wait.command) }
            var replies = await send(sent, slot: slots[index])
            wait?.settle(&replies, endpoint: configuration.endpoint)
            results[index] = replies[0]
        }
        return results
    }

    /// Sends `command` to every primary; for tools and tests (`INFO`,
    /// `SCRIPT FLUSH`).
    func sendToEveryPrimary(
        _ command: RESPCommand
    ) async -> [(RedisServerAddress, Result<RESPValue, ContextStoreError>)] {
        do {
            try await loadIfNeeded()
        } catch {
            return []
        }
        let primaries = state.withLock { $0.slots.primaries }
        var answers: [(RedisServerAddress, Result<RESPValue, ContextStoreError>)] = []
        for address in primaries {
            do {
                answers.append((address, .success(try await pool(for: address).send(command))))
            } catch {
                answers.append((address, .failure(error)))
            }
        }
        return answers
    }

    private static func isRetried(_ reply: RESPErrorReply) -> Bool {
        switch reply.kind {
        case "MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN": true
        default: false
        }
    }

    // MARK: The slot map

    /// The primary serving `slot` and its pool; reads the map first when
    /// there is none, or when no node serves the slot.
    private func route(_ slot: HashSlot) async throws(ContextStoreError) -> (RedisServerAddress, RedisConnectionPool) {
        var readAgain = false
        while true {
            let found = try state.withLock {
                state throws(ContextStoreError) -> (RedisServerAddress, RedisConnectionPool)? in
                guard !state.isShutDown else { throw Self.shutDownError }
                guard state.isLoaded, let owner = state.slots.owner(of: slot) else { return nil }
                return (owner, try Self.pool(for: owner, in: &state, self))
            }
            if let found { return found }
            guard !readAgain else {
                throw ContextStoreError(.unavailable, "no node of the Redis Cluster serves hash slot \(slot)")
            }
            readAgain = true
            try await refresh(avoiding: nil, waiting: true)
        }
    }

    private func loadIfNeeded() async throws(ContextStoreError) {
        let loaded = try state.withLock { state throws(ContextStoreError) in
            guard !state.isShutDown else { throw Self.shutDownError }
            return state.isLoaded
        }
        if !loaded { try await refresh(avoiding: nil, waiting: true) }
    }

    /// Reads the slot map again, from the known primaries, then the seed
    /// nodes, then `avoiding` (the node that just failed), until one
    /// answers within the command timeout.
    ///
    /// Concurrent reads are one: with `waiting`, a caller waits for the
    /// read in flight; without, it returns at once when a read is in flight
    /// or one ended less than ``refreshSpacing`` ago.
    ///
    /// - Throws: ``ContextStoreError/Code/unavailable`` when no node
    ///   answered with a usable map (only to callers that wait).
    func refresh(avoiding failed: RedisServerAddress?, waiting: Bool) async throws(ContextStoreError) {
        enum Step {
            case read(EventLoopPromise<Void>, [RedisServerAddress])
            case join(EventLoopFuture<Void>)
            case skip
        }
        let now = ContinuousClock.now
        let step = state.withLock { state -> Step in
            if state.isShutDown { return .skip }
            if let inFlight = state.refresh { return waiting ? .join(inFlight.futureResult) : .skip }
            if !waiting, let last = state.lastRefresh, now - last < Self.refreshSpacing { return .skip }
            let promise = eventLoopGroup.next().makePromise(of: Void.self)
            state.refresh = promise
            var candidates: [RedisServerAddress] = []
            for node in state.slots.primaries + configuration.clusterNodes
            where node != failed && !candidates.contains(node) {
                candidates.append(node)
            }
            if let failed { candidates.append(failed) }
            return .read(promise, candidates)
        }
        switch step {
        case .skip:
            return
        case .join(let future):
            do {
                try await future.get()
            } catch {
                throw error as? ContextStoreError ?? ContextStoreError(.unavailable, "\(error)")
            }
        case .read(let promise, let candidates):
            let result = await readSlots(from: candidates)
            let map = try? result.get()
            state.withLock { state in
                if let map {
                    state.slots = map
                    state.isLoaded = true
                }
                state.refresh = nil
                state.lastRefresh = .now
            }
            switch result {
            case .success:
                promise.succeed()
            case .failure(let error):
                promise.fail(error)
                throw error
            }
        }
    }

    private func readSlots(from candidates: [RedisServerAddress]) async -> Result<ClusterSlotMap, ContextStoreError> {
        let deadline = ContinuousClock.now + configuration.commandTimeout
        var problems: [String] = []
        for candidate in candidates {
            guard ContinuousClock.now < deadline else { break }
            do throws(ContextStoreError) {
                switch try await pool(for: candidate).send(RESPCommand("CLUSTER", "SLOTS")) {
                case .error(let reply):
                    throw RedisErrors.reply(reply, to: "CLUSTER SLOTS", endpoint: candidate.description)
                case let reply:
                    let map = try ClusterSlotMap(slotsReply: reply, replyingNode: candidate)
                    guard map.servedSlots > 0 else {
                        throw ContextStoreError(.unavailable, "\(candidate) serves no slot (not in a cluster yet)")
                    }
                    return .success(map)
                }
            } catch {
                problems.append(error.message)
            }
        }
        return .failure(
            ContextStoreError(
                .unavailable,
                "no node of the Redis Cluster answered CLUSTER SLOTS: " + problems.prefix(3).joined(separator: "; ")))
    }

    // MARK: Pools

    private func pool(for address: RedisServerAddress) throws(ContextStoreError) -> RedisConnectionPool {
        try state.withLock { state throws(ContextStoreError) in try Self.pool(for: address, in: &state, self) }
    }

    private static func pool(
        for address: RedisServerAddress, in state: inout State, _ router: RedisClusterRouter
    ) throws(ContextStoreError) -> RedisConnectionPool {
        guard !state.isShutDown else { throw shutDownError }
        if let pool = state.pools[address] { return pool }
        guard state.pools.count < maximumNodes else {
            throw ContextStoreError(.protocolViolation, "the Redis Cluster names more than \(maximumNodes) nodes")
        }
        let pool = RedisConnectionPool(
            configuration: router.configuration.node(address), eventLoopGroup: router.eventLoopGroup,
            sslContext: router.sslContext)
        state.pools[address] = pool
        return pool
    }

    /// Closes every node's connections; later commands fail with `shutDown`.
    func shutdown() async {
        let pools = state.withLock { state in
            state.isShutDown = true
            return Array(state.pools.values)
        }
        for pool in pools { await pool.shutdown() }
    }

    private static let shutDownError = ContextStoreError(.shutDown, "the Redis store has been shut down")
}
