import ServiceLifecycle

extension Service {
    /// Runs this service for as long as `body` runs: starts ``run()`` in a
    /// child task, runs `body`, then cancels the run and waits for it to
    /// finish (the run releases everything the service owns).
    ///
    /// For code outside a `ServiceGroup`, such as a command-line tool or a
    /// test; in a server, put the service in the group instead.
    ///
    /// - Returns: what `body` returns.
    /// - Throws: what `body` throws; otherwise what the run threw when it
    ///   ended.
    public func withRunning<Result: Sendable>(
        _ body: () async throws -> Result
    ) async throws -> Result {
        try await withThrowingTaskGroup(of: Void.self) { group in
            // Immediate: the run has started before `body` uses the service.
            group.addImmediateTask { try await self.run() }
            let result: Result
            do {
                result = try await body()
            } catch {
                group.cancelAll()
                try? await group.waitForAll()
                throw error
            }
            group.cancelAll()
            try await group.waitForAll()
            return result
        }
    }
}
