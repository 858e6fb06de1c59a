import AshCore
import AshStore

/// One worker task's loop body: one iteration of a workload per
/// ``step(_:)``, every outcome checked and counted in the worker's tally.
///
/// Owned by its task; never shared.
package struct WorkloadWorker {
    package let workload: Workload
    private let target: any BenchTarget
    private let settings: WorkloadSettings
    /// Pre-created ids for `consume`, used from the end.
    private var prepared: [String]
    /// Where `mixed` is in its cycle of ten.
    private var position = 0
    /// The context the last flow consumed (for `mixed` replays and gets).
    private var lastConsumed: String?
    private var identifiers = AshIdentifierGenerator(bufferSize: 1_024)

    package init(workload: Workload, target: any BenchTarget, settings: WorkloadSettings, prepared: [String] = []) {
        self.workload = workload
        self.target = target
        self.settings = settings
        self.prepared = prepared
    }

    /// Runs one iteration; returns the monotonic time it ended, or `nil`
    /// when there is nothing left to do (`consume` ran out of contexts).
    package mutating func step(_ tally: inout WorkerTally) async -> UInt64? {
        if settings.pipelineDepth > 1, workload.pipelines { return await pipelinedStep(&tally) }
        switch workload {
        case .create: return await create(&tally)
        case .consume:
            guard let id = prepared.popLast() else { return nil }
            return await consumeFresh(id, &tally)
        case .createConsume:
            let start = MonotonicClock.nanoseconds()
            do {
                let context = try await target.create(
                    binding: settings.request.binding, ttlMilliseconds: settings.ttlMilliseconds)
                _ = tally.succeeded(since: start)
                return await consumeFresh(context.contextId, &tally)
            } catch {
                return tally.failed(since: start, error)
            }
        case .flow: return await flow(&tally)
        case .flowInSteps: return await flow(&tally, inSteps: true)
        case .replay: return await replayCycle(&tally)
        case .mixed: return await mixed(&tally)
        }
    }

    /// One pipeline of `pipelineDepth` operations (creates, consumes, or
    /// creates then their consumes); each operation's latency is its
    /// pipeline's round trip.
    private mutating func pipelinedStep(_ tally: inout WorkerTally) async -> UInt64? {
        let depth = settings.pipelineDepth
        switch workload {
        case .consume:
            guard !prepared.isEmpty else { return nil }
            let ids = Array(prepared.suffix(depth))
            prepared.removeLast(ids.count)
            return await consumeFresh(ids, &tally)
        case .create, .createConsume:
            let start = MonotonicClock.nanoseconds()
            let results = await target.create(
                count: depth, binding: settings.request.binding, ttlMilliseconds: settings.ttlMilliseconds)
            var end = start
            var ids: [String] = []
            ids.reserveCapacity(depth)
            for result in results {
                switch result {
                case .success(let context):
                    end = tally.succeeded(since: start)
                    ids.append(context.contextId)
                case .failure(let error):
                    end = tally.failed(since: start, error)
                }
            }
            guard workload == .createConsume, !ids.isEmpty else { return end }
            return await consumeFresh(ids, &tally)
        case .flow, .flowInSteps, .replay, .mixed:
            return await step(&tally)
        }
    }

    /// Consumes fresh contexts in one pipeline: anything but `consumed` is
    /// a violation.
    private func consumeFresh(_ ids: [String], _ tally: inout WorkerTally) async -> UInt64 {
        let start = MonotonicClock.nanoseconds()
        var end = start
        for result in await target.consume(ids) { end = Self.countFresh(result, since: start, &tally) }
        return end
    }

    /// Counts the consume of a context never consumed before: anything but
    /// `consumed` is a violation.
    private static func countFresh(
        _ result: Result<ConsumeResult, any Error>, since start: UInt64, _ tally: inout WorkerTally
    ) -> UInt64 {
        switch result {
        case .success(let outcome):
            let end = tally.succeeded(since: start)
            if outcome != .consumed { tally.violated("first consume of a fresh context answered \(outcome)") }
            return end
        case .failure(let error):
            return tally.failed(since: start, error)
        }
    }

    private func create(_ tally: inout WorkerTally) async -> UInt64 {
        let start = MonotonicClock.nanoseconds()
        do {
            _ = try await target.create(binding: settings.request.binding, ttlMilliseconds: settings.ttlMilliseconds)
            return tally.succeeded(since: start)
        } catch {
            return tally.failed(since: start, error)
        }
    }

    /// Consumes a context that was never consumed: anything but `consumed`
    /// is a violation.
    private func consumeFresh(_ id: String, _ tally: inout WorkerTally) async -> UInt64 {
        let start = MonotonicClock.nanoseconds()
        return Self.countFresh(await Result { try await target.consume(id) }, since: start, &tally)
    }

    /// Consumes a context that was consumed before: it must be rejected.
    private func replay(_ id: String, _ tally: inout WorkerTally) async -> UInt64 {
        let start = MonotonicClock.nanoseconds()
        do {
            let result = try await target.consume(id)
            let end = tally.succeeded(since: start)
            switch result {
            case .consumed: tally.violated("a replay was accepted")
            case .alreadyConsumed: tally.replaysRejected += 1
            case .missing, .expired:
                // Rejected, but the contract says a consumed context stays
                // readable until it expires: count it as an error.
                tally.replaysRejected += 1
                tally.errors += 1
                if tally.firstError == nil { tally.firstError = "a replay within the TTL answered \(result)" }
            }
            return end
        } catch {
            return tally.failed(since: start, error)
        }
    }

    /// Create, proof, verify: one operation. Returns the consumed id.
    private mutating func flow(_ tally: inout WorkerTally, inSteps: Bool = false) async -> UInt64 {
        let start = MonotonicClock.nanoseconds()
        let context: AshContextPublicInfo
        do {
            context = try await target.create(
                binding: settings.request.binding, ttlMilliseconds: settings.ttlMilliseconds)
        } catch {
            return tally.failed(since: start, error)
        }
        let request = settings.request.request(for: context)
        do {
            try await target.verify(request, expectedBinding: settings.request.binding, inSteps: inSteps)
            lastConsumed = context.contextId
            return tally.succeeded(since: start)
        } catch let error as AshError {
            let end = tally.failed(since: start, error)
            if error.code == .replayDetected {
                tally.violated("verifying a fresh context reported a replay")
            } else if error.code == .integrityFailed {
                tally.violated("a valid proof was refused")
            }
            return end
        } catch {
            return tally.failed(since: start, error)
        }
    }

    private func replayCycle(_ tally: inout WorkerTally) async -> UInt64 {
        let start = MonotonicClock.nanoseconds()
        let context: AshContextPublicInfo
        do {
            context = try await target.create(
                binding: settings.request.binding, ttlMilliseconds: settings.ttlMilliseconds)
        } catch {
            return tally.failed(since: start, error)
        }
        _ = tally.succeeded(since: start)
        var end = await consumeFresh(context.contextId, &tally)
        for _ in 0..<settings.replays {
            end = await replay(context.contextId, &tally)
        }
        return end
    }

    private mutating func mixed(_ tally: inout WorkerTally) async -> UInt64 {
        defer { position = (position + 1) % 10 }
        switch position {
        case 6, 7:
            guard let id = lastConsumed else { return await flow(&tally) }
            return await replay(id, &tally)
        case 8:
            guard let id = lastConsumed else { return await flow(&tally) }
            let start = MonotonicClock.nanoseconds()
            do {
                let context = try await target.get(id)
                let end = tally.succeeded(since: start)
                if context == nil {
                    tally.errors += 1
                    if tally.firstError == nil {
                        tally.firstError = "get of a consumed, unexpired context found nothing"
                    }
                }
                return end
            } catch {
                return tally.failed(since: start, error)
            }
        case 9:
            let id = identifiers.next()
            let start = MonotonicClock.nanoseconds()
            do {
                let result = try await target.consume(id)
                let end = tally.succeeded(since: start)
                if result == .consumed { tally.violated("an id that was never issued was consumed") }
                return end
            } catch {
                return tally.failed(since: start, error)
            }
        default:
            return await flow(&tally)
        }
    }
}
