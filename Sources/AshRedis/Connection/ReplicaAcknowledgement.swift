import AshStore

/// `WAIT replicas timeout` after writes on one connection, and what its
/// answer means for them: writes fewer replicas confirmed in time fail, so
/// the caller refuses what it would have accepted (fail closed).
struct ReplicaAcknowledgement: Sendable {
    let replicas: Int
    let timeoutMilliseconds: Int64

    /// What `configuration` asks of consumes; `nil` when they do not wait.
    init?(consumesOf configuration: RedisConfiguration) {
        guard configuration.consumeReplicas > 0 else { return nil }
        replicas = configuration.consumeReplicas
        timeoutMilliseconds = configuration.consumeReplicaTimeoutMilliseconds
    }

    /// The command to send after the writes, on the same connection.
    var command: RESPCommand { RESPCommand("WAIT", String(replicas), String(timeoutMilliseconds)) }

    /// Removes the `WAIT` reply from the end of `replies` and, unless it
    /// confirms ``replicas``, turns every reply the writes got into a
    /// ``ContextStoreError/Code/timedOut`` failure. Error replies stay: the
    /// command they answer wrote nothing.
    func settle(_ replies: inout [Result<RESPValue, ContextStoreError>], endpoint: String) {
        guard let wait = replies.popLast() else { return }
        let failure: ContextStoreError
        switch wait {
        case .success(.integer(let confirmed)) where confirmed >= replicas:
            return
        case .success(.integer(let confirmed)):
            failure = ContextStoreError(
                .timedOut,
                "Redis at \(endpoint): \(confirmed) of \(replicas) replicas confirmed the consume within "
                    + "\(timeoutMilliseconds) ms; it may be lost if this primary fails, so it is not accepted")
        case .success(.error(let reply)):
            failure = RedisErrors.reply(reply, to: "WAIT", endpoint: endpoint)
        case .success(let reply):
            failure = RedisErrors.unexpectedReply(reply, to: "WAIT", endpoint: endpoint)
        case .failure(let error):
            failure = error
        }
        for index in replies.indices {
            if case .success(let reply) = replies[index], case .error = reply { continue }
            replies[index] = .failure(failure)
        }
    }
}
