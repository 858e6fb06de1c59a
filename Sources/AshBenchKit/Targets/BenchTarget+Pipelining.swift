import AshCore
import AshStore

/// Pipelined calls: `count` operations sent together and awaited together,
/// as `redis-benchmark -P` does. Targets whose client pipelines (ashd,
/// Redis) or batches (the engine) override these; the default runs the
/// operations as concurrent tasks (PostgreSQL's client does not pipeline).
extension BenchTarget {
    public func create(count: Int, binding: String, ttlMilliseconds: Int64) async -> [Result<AshContextPublicInfo, any Error>] {
        await concurrently(count) { _ in try await create(binding: binding, ttlMilliseconds: ttlMilliseconds) }
    }

    public func consume(_ contextIds: [String]) async -> [Result<ConsumeResult, any Error>] {
        await concurrently(contextIds.count) { index in try await consume(contextIds[index]) }
    }

    private func concurrently<Value: Sendable>(
        _ count: Int,
        _ operation: @escaping @Sendable (Int) async throws -> Value
    ) async -> [Result<Value, any Error>] {
        if count == 1 { return [await Result { try await operation(0) }] }
        return await withTaskGroup(of: (Int, Result<Value, any Error>).self) { group in
            for index in 0..<count {
                group.addTask { (index, await Result { try await operation(index) }) }
            }
            var results = [Result<Value, any Error>?](repeating: nil, count: count)
            for await (index, result) in group { results[index] = result }
            return results.map { $0! }
        }
    }
}

extension Result where Failure == any Error {
    /// Catches what an async body throws.
    init(_ body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
