import AshCore
import AshStore

/// The checks themselves; see ``ContextStoreContract/Check``.
struct ContractChecks<Store: ContextStore> {
    let check: ContextStoreContract.Check
    let subject: ContractSubject<Store>
    let options: ContextStoreContract.Options

    var store: Store { subject.store }
    var now: Int64 { subject.clock.nowMilliseconds() }

    func expect(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw ContractViolation(check: check.rawValue, message: message()) }
    }

    func expectStoreError(
        _ code: ContextStoreError.Code,
        _ what: String,
        _ body: () async throws -> Void
    ) async throws {
        do {
            try await body()
        } catch let error as ContextStoreError {
            try expect(error.code == code, "\(what): expected \(code), got \(error)")
            return
        }
        try expect(false, "\(what): expected \(code), but it succeeded")
    }

    func makeContext(
        ttl: Int64 = 60_000,
        binding: String = "POST /api/transfer",
        mode: AshMode = .balanced,
        nonce: String? = nil
    ) -> AshContext {
        let issuedAt = now
        return AshContext(
            contextId: AshIdentifier.generate(),
            binding: binding,
            mode: mode,
            issuedAt: issuedAt,
            expiresAt: issuedAt + ttl,
            nonce: nonce
        )
    }

    func run() async throws {
        switch check {
        case .roundTripsEveryField: try await roundTripsEveryField()
        case .getOfUnknownIdIsNil: try await getOfUnknownIdIsNil()
        case .putNeverOverwrites: try await putNeverOverwrites()
        case .rejectsInvalidFields: try await rejectsInvalidFields()
        case .consumesOnce: try await consumesOnce()
        case .reportsReplayAsAlreadyConsumed: try await reportsReplay()
        case .consumeOfUnknownIdIsMissing: try await consumeOfUnknownIdIsMissing()
        case .neverConsumesExpiredContext: try await neverConsumesExpiredContext()
        case .consumedContextStaysReadable: try await consumedContextStaysReadable()
        case .deletes: try await deletes()
        case .cleanupRemovesExactlyTheExpired: try await cleanupRemovesExactlyTheExpired()
        case .createContextFillsEveryField: try await createContextFillsEveryField()
        case .concurrentConsumersHaveOneWinner: try await concurrentConsumersHaveOneWinner()
        case .idsAreUniqueOverManyCreations: try await idsAreUniqueOverManyCreations()
        }
    }

    func roundTripsEveryField() async throws {
        var samples = AshMode.allCases.map { makeContext(mode: $0) }
        samples.append(makeContext(mode: .strict, nonce: AshIdentifier.generate()))
        samples.append(makeContext(binding: "GET /"))
        samples.append(makeContext(binding: "PUT /api/café/☃/👍"))
        samples.append(makeContext(binding: "POST /" + String(repeating: "a", count: 249)))
        var foreign = makeContext(nonce: "n")
        foreign.contextId = "foreign-id:" + String(repeating: "x", count: 53)  // 64 bytes
        samples.append(foreign)
        for context in samples { try await store.put(context) }
        for context in samples {
            let stored = try await store.get(context.contextId)
            try expect(stored == context, "get returned \(String(describing: stored)), put \(context)")
        }
    }

    func getOfUnknownIdIsNil() async throws {
        let stored = try await store.get(AshIdentifier.generate())
        try expect(stored == nil, "get of an unknown id returned \(String(describing: stored))")
    }

    func putNeverOverwrites() async throws {
        let original = makeContext()
        try await store.put(original)
        try await expect(store.consume(original.contextId, now: now) == .consumed, "first consume did not win")
        var replacement = original
        replacement.binding = "GET /other"
        replacement.consumedAt = nil
        try await expectStoreError(.duplicateContext, "put of an existing id") {
            try await store.put(replacement)
        }
        let stored = try await store.get(original.contextId)
        try expect(stored?.binding == original.binding, "put replaced the stored binding")
        try expect(stored?.consumedAt != nil, "put made a consumed context consumable again")
        try await expect(
            store.consume(original.contextId, now: now) == .alreadyConsumed,
            "a consumed context became consumable after a second put"
        )
    }

    func rejectsInvalidFields() async throws {
        var empty = makeContext()
        empty.contextId = ""
        try await expectStoreError(.invalidArgument, "empty id") { try await store.put(empty) }
        var longId = makeContext()
        longId.contextId = String(repeating: "x", count: 65)
        try await expectStoreError(.invalidArgument, "65-byte id") { try await store.put(longId) }
        try await expectStoreError(.invalidArgument, "256-byte binding") {
            try await store.put(makeContext(binding: "POST /" + String(repeating: "b", count: 250)))
        }
        try await expectStoreError(.invalidArgument, "empty binding") {
            try await store.put(makeContext(binding: ""))
        }
        var backwards = makeContext()
        backwards.expiresAt = backwards.issuedAt
        try await expectStoreError(.invalidArgument, "expiresAt not after issuedAt") {
            try await store.put(backwards)
        }
        for binding in ["not-a-binding", "post /x", "POST x", "POST /x/", "POST /x?q=1", "POST //x", " /x"] {
            try await expectStoreError(.invalidArgument, "binding \"\(binding)\" not in normalized form") {
                try await store.put(makeContext(binding: binding))
            }
        }
        // Times out of range, at the edges of an i64: refused, never a trap.
        for (name, edit) in [
            ("issuedAt -2^63", { (context: inout AshContext) in context.issuedAt = .min }),
            ("issuedAt -1", { (context: inout AshContext) in context.issuedAt = -1 }),
            ("expiresAt 2^63-1", { (context: inout AshContext) in context.expiresAt = .max }),
            ("consumedAt -1", { (context: inout AshContext) in context.consumedAt = -1 }),
            ("consumedAt at expiresAt", { (context: inout AshContext) in context.consumedAt = context.expiresAt }),
        ] as [(String, (inout AshContext) -> Void)] {
            var context = makeContext()
            edit(&context)
            try await expectStoreError(.invalidArgument, name) { try await store.put(context) }
        }
    }

    func consumesOnce() async throws {
        let context = makeContext()
        try await store.put(context)
        let at = now + 5
        try await expect(store.consume(context.contextId, now: at) == .consumed, "first consume did not win")
        let stored = try await store.get(context.contextId)
        try expect(stored?.consumedAt == at, "consumedAt is \(String(describing: stored?.consumedAt)), want \(at)")
    }

    func reportsReplay() async throws {
        let context = makeContext()
        try await store.put(context)
        let first = now + 1
        try await expect(store.consume(context.contextId, now: first) == .consumed, "first consume did not win")
        for attempt in 1...3 {
            let result = try await store.consume(context.contextId, now: first + Int64(attempt))
            try expect(result == .alreadyConsumed, "replay \(attempt) answered \(result)")
        }
        let stored = try await store.get(context.contextId)
        try expect(stored?.consumedAt == first, "a replay changed consumedAt")
    }

    func consumeOfUnknownIdIsMissing() async throws {
        let result = try await store.consume(AshIdentifier.generate(), now: now)
        try expect(result == .missing, "consume of an unknown id answered \(result)")
    }

    func neverConsumesExpiredContext() async throws {
        let context = makeContext(ttl: 10_000)
        try await store.put(context)
        let atExpiry = try await store.consume(context.contextId, now: context.expiresAt)
        try expect(atExpiry == .missing, "consume at expiresAt answered \(atExpiry)")
        let later = try await store.consume(context.contextId, now: context.expiresAt + 1_000)
        try expect(later == .missing, "consume after expiry answered \(later)")
        let justBefore = try await store.consume(context.contextId, now: context.expiresAt - 1)
        try expect(justBefore == .consumed, "consume 1 ms before expiry answered \(justBefore)")
    }

    func consumedContextStaysReadable() async throws {
        let context = makeContext()
        try await store.put(context)
        _ = try await store.consume(context.contextId, now: now)
        let stored = try await store.get(context.contextId)
        try expect(stored != nil, "a consumed, unexpired context disappeared")
    }

    func deletes() async throws {
        let context = makeContext()
        try await store.put(context)
        try await expect(store.delete(context.contextId), "delete of a stored context answered false")
        try await expect(store.get(context.contextId) == nil, "get after delete found the context")
        try await expect(store.consume(context.contextId, now: now) == .missing, "consume after delete")
        try await expect(!store.delete(context.contextId), "second delete answered true")
    }

    func cleanupRemovesExactlyTheExpired() async throws {
        switch subject.expiry {
        case .byBackend:
            try await store.put(makeContext())
            let removed = try await store.cleanup()
            try expect(removed == 0, "a backend that expires entries itself removed \(removed)")
        case .byCleanup(let advance):
            let short = (0..<3).map { _ in makeContext(ttl: 1_000) }
            let long = (0..<2).map { _ in makeContext(ttl: 600_000) }
            for context in short + long { try await store.put(context) }
            _ = try await store.consume(short[0].contextId, now: now)
            _ = try await store.consume(long[0].contextId, now: now)
            try await expect(store.cleanup() == 0, "cleanup removed live contexts")
            try await advance(1_000)
            let removed = try await store.cleanup()
            try expect(removed == 3, "cleanup removed \(removed), want 3")
            for context in short {
                try await expect(store.get(context.contextId) == nil, "an expired context survived cleanup")
            }
            for context in long {
                try await expect(store.get(context.contextId) != nil, "cleanup removed a live context")
            }
            try await expect(store.cleanup() == 0, "a second cleanup removed more")
        }
    }

    func createContextFillsEveryField() async throws {
        let plain = try await store.createContext(binding: "POST /api/a", ttlMilliseconds: 30_000, clock: subject.clock)
        try expect(plain.mode == .balanced, "default mode is \(plain.mode)")
        try expect(plain.nonce == nil, "a nonce was issued without issueNonce")
        try expect(AshCompactID(plain.contextId) != nil, "context id \(plain.contextId) is not 16 bytes base64url")
        let stored = try await store.get(plain.contextId)
        try expect(stored?.expiresAt == plain.expiresAt, "stored expiresAt differs")
        try expect(stored.map { $0.expiresAt - $0.issuedAt } == 30_000, "expiresAt is not issuedAt + ttl")

        let strict = try await store.createContext(
            binding: "POST /api/b", ttlMilliseconds: 5_000, mode: .strict, issueNonce: true, clock: subject.clock)
        try expect(strict.mode == .strict, "mode is \(strict.mode)")
        try expect(strict.nonce.flatMap(AshCompactID.init) != nil, "nonce is not 16 bytes base64url")
        let strictStored = try await store.get(strict.contextId)
        try expect(strictStored?.nonce == strict.nonce, "stored nonce differs")
        try expect(strictStored?.consumedAt == nil, "a new context is consumed")

        try await expectStoreError(.invalidArgument, "ttl 0") {
            _ = try await store.createContext(binding: "GET /", ttlMilliseconds: 0, clock: subject.clock)
        }
    }

    func concurrentConsumersHaveOneWinner() async throws {
        let contexts = (0..<options.racedContexts).map { _ in makeContext() }
        for context in contexts { try await store.put(context) }
        let at = now
        let store = self.store
        let consumers = options.consumersPerContext
        let results = try await withThrowingTaskGroup(of: (Int, ConsumeResult).self) { group in
            for (index, context) in contexts.enumerated() {
                for _ in 0..<consumers {
                    group.addTask { (index, try await store.consume(context.contextId, now: at)) }
                }
            }
            var tallies = [[ConsumeResult: Int]](repeating: [:], count: contexts.count)
            for try await (index, result) in group { tallies[index][result, default: 0] += 1 }
            return tallies
        }
        for (index, tally) in results.enumerated() {
            try expect(
                tally[.consumed] == 1 && tally[.alreadyConsumed] == consumers - 1,
                "context \(index): \(tally) (want exactly one consumed)"
            )
        }
    }

    func idsAreUniqueOverManyCreations() async throws {
        let store = self.store
        let clock = subject.clock
        let creators = options.creators
        let perCreator = options.uniqueIdCreations / creators
        let ids = try await withThrowingTaskGroup(of: [String].self) { group in
            for _ in 0..<creators {
                group.addTask {
                    var ids: [String] = []
                    ids.reserveCapacity(perCreator)
                    for _ in 0..<perCreator {
                        ids.append(try await store.createContext(binding: "GET /u", ttlMilliseconds: 60_000, clock: clock).contextId)
                    }
                    return ids
                }
            }
            var all = Set<String>()
            for try await batch in group { all.formUnion(batch) }
            return all
        }
        try expect(ids.count == perCreator * creators, "\(perCreator * creators - ids.count) duplicate ids")
    }
}
