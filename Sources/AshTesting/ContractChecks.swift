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
        try await expectFailure(code, what, code: \ContextStoreError.code, body)
    }

    /// Runs `body` and checks that it throws a `Failure` whose `code` is `expected`.
    func expectFailure<Failure: Error, Code: Equatable>(
        _ expected: Code,
        _ what: String,
        code: KeyPath<Failure, Code>,
        _ body: () async throws -> Void
    ) async throws {
        do {
            try await body()
        } catch let error as Failure {
            try expect(error[keyPath: code] == expected, "\(what): expected \(expected), got \(error)")
            return
        }
        try expect(false, "\(what): expected \(expected), but it succeeded")
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
        case .removeExpiredKeepsTheGrace: try await removeExpiredKeepsTheGrace()
        case .createFillsEveryField: try await createFillsEveryField()
        case .createsInBatches: try await createsInBatches()
        case .consumesInBatches: try await consumesInBatches()
        case .verifyChecksInTheProtocolsOrder: try await verifyChecksInTheProtocolsOrder()
        case .verifyAnswersExpiredWithinTheGrace: try await verifyAnswersExpiredWithinTheGrace()
        case .concurrentConsumersHaveOneWinner: try await concurrentConsumersHaveOneWinner()
        case .concurrentVerifiersHaveOneWinner: try await concurrentVerifiersHaveOneWinner()
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
        try expect(atExpiry == .expired, "consume at expiresAt answered \(atExpiry)")
        let later = context.expiresAt + min(1_000, subject.expiredGraceMilliseconds - 1)
        let afterExpiry = try await store.consume(context.contextId, now: later)
        try expect(afterExpiry == .expired, "consume within the grace after expiry answered \(afterExpiry)")
        let stored = try await store.get(context.contextId)
        try expect(stored?.consumedAt == nil, "a consume of an expired context set consumedAt")
        let justBefore = try await store.consume(context.contextId, now: context.expiresAt - 1)
        try expect(justBefore == .consumed, "consume 1 ms before expiry answered \(justBefore)")
        let replayAfterExpiry = try await store.consume(context.contextId, now: context.expiresAt)
        try expect(
            replayAfterExpiry == .expired, "consume of a consumed, expired context answered \(replayAfterExpiry)")
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

    func removeExpiredKeepsTheGrace() async throws {
        switch subject.expiry {
        case .byBackend:
            try await store.put(makeContext())
            let removed = try await store.removeExpired()
            try expect(removed == 0, "a backend that expires entries itself removed \(removed)")
        case .byCleanup(let advance):
            let grace = subject.expiredGraceMilliseconds
            let short = (0..<3).map { _ in makeContext(ttl: 1_000) }
            let long = (0..<2).map { _ in makeContext(ttl: 600_000) }
            for context in short + long { try await store.put(context) }
            _ = try await store.consume(short[0].contextId, now: now)
            _ = try await store.consume(long[0].contextId, now: now)
            try await expect(store.removeExpired() == 0, "removeExpired removed live contexts")
            try await advance(1_000)
            if grace > 0 {
                try await expect(store.removeExpired() == 0, "removeExpired removed contexts within their grace")
                for context in short {
                    try await expect(
                        store.get(context.contextId) != nil, "an expired context was forgotten within its grace")
                }
                try await expect(
                    store.consume(short[1].contextId, now: now) == .expired, "consume within the grace is not expired")
                try await advance(grace)
            }
            let removed = try await store.removeExpired()
            try expect(removed == 3, "removeExpired removed \(removed), want 3")
            for context in short {
                try await expect(store.get(context.contextId) == nil, "a context past its grace survived removeExpired")
                try await expect(
                    store.consume(context.contextId, now: now) == .missing, "consume past the grace is not missing")
            }
            for context in long {
                try await expect(store.get(context.contextId) != nil, "removeExpired removed a live context")
            }
            try await expect(store.removeExpired() == 0, "a second removeExpired removed more")
        }
    }

    func createFillsEveryField() async throws {
        let plain = try await store.create(CreateRequest(binding: "POST /api/a", ttlMilliseconds: 30_000))
        try expect(plain.mode == .balanced, "default mode is \(plain.mode)")
        try expect(plain.nonce == nil, "a nonce was issued without issueNonce")
        try expect(AshCompactID(plain.contextId) != nil, "context id \(plain.contextId) is not 16 bytes base64url")
        let stored = try await store.get(plain.contextId)
        try expect(stored?.expiresAt == plain.expiresAt, "stored expiresAt differs")
        try expect(stored.map { $0.expiresAt - $0.issuedAt } == 30_000, "expiresAt is not issuedAt + ttl")
        try expect(stored?.binding == "POST /api/a", "stored binding differs")

        let strict = try await store.createContext(
            binding: "POST /api/b", ttlMilliseconds: 5_000, mode: .strict, issueNonce: true)
        try expect(strict.mode == .strict, "mode is \(strict.mode)")
        try expect(strict.nonce.flatMap(AshCompactID.init) != nil, "nonce is not 16 bytes base64url")
        let strictStored = try await store.get(strict.contextId)
        try expect(strictStored?.nonce == strict.nonce, "stored nonce differs")
        try expect(strictStored?.consumedAt == nil, "a new context is consumed")

        try await expectStoreError(.invalidArgument, "ttl 0") {
            _ = try await store.create(CreateRequest(binding: "GET /", ttlMilliseconds: 0))
        }
        try await expectStoreError(.invalidArgument, "binding not in normalized form") {
            _ = try await store.create(CreateRequest(binding: "get /x", ttlMilliseconds: 1_000))
        }
    }

    func createsInBatches() async throws {
        let requests = [
            CreateRequest(binding: "POST /a", ttlMilliseconds: 10_000),
            CreateRequest(binding: "POST /b", ttlMilliseconds: 0),
            CreateRequest(binding: "PUT /c", ttlMilliseconds: 20_000, mode: .strict, issueNonce: true),
            CreateRequest(binding: "nope", ttlMilliseconds: 1_000),
            CreateRequest(binding: "GET /d", ttlMilliseconds: 30_000, mode: .minimal),
        ]
        let results = await store.create(requests)
        try expect(results.count == requests.count, "\(results.count) results for \(requests.count) requests")
        for index in [1, 3] {
            guard case .failure(let error) = results[index] else {
                try expect(false, "entry \(index) is invalid but succeeded")
                return
            }
            try expect(error.code == .invalidArgument, "entry \(index) failed with \(error), want invalidArgument")
        }
        var ids = Set<String>()
        for index in [0, 2, 4] {
            let info = try results[index].get()
            let request = requests[index]
            ids.insert(info.contextId)
            try expect(info.mode == request.mode, "entry \(index): mode \(info.mode)")
            try expect(
                (info.nonce != nil) == request.issueNonce, "entry \(index): nonce \(String(describing: info.nonce))")
            let stored = try await store.get(info.contextId)
            try expect(stored?.binding == request.binding, "entry \(index): stored binding differs")
            try expect(
                stored.map { $0.expiresAt - $0.issuedAt } == request.ttlMilliseconds, "entry \(index): lifetime differs"
            )
        }
        try expect(ids.count == 3, "a batch issued one id twice")
        try await expect(store.create([]).isEmpty, "an empty batch answered entries")
    }

    func consumesInBatches() async throws {
        // A minute apart, so a slow machine never sees `expiring` expire
        // before it is stored (stores on the real clock refuse that).
        let fresh = makeContext(ttl: 120_000)
        let consumed = makeContext(ttl: 120_000)
        let expiring = makeContext(ttl: 60_000)
        for context in [fresh, consumed, expiring] { try await store.put(context) }
        let at = expiring.expiresAt
        try await expect(store.consume(consumed.contextId, now: at - 10) == .consumed, "setup consume did not win")
        let ids = [fresh.contextId, consumed.contextId, AshIdentifier.generate(), expiring.contextId, fresh.contextId]
        let results = await store.consume(ids, now: at)
        let outcomes = try results.map { try $0.get() }
        try expect(
            outcomes == [.consumed, .alreadyConsumed, .missing, .expired, .alreadyConsumed],
            "batch consume answered \(outcomes)")
        let stored = try await store.get(fresh.contextId)
        try expect(
            stored?.consumedAt == at, "batch consume set consumedAt to \(String(describing: stored?.consumedAt))")
        try await expect(store.consume([], now: at).isEmpty, "an empty batch answered entries")
    }

    /// A request for `context` with a JSON body and the proof the reference
    /// client would send (or `proof` instead).
    func request(
        for context: AshContext, body: String = #"{"b":[1,2],"a":"x"}"#, contentType: String = "application/json",
        proof: String? = nil
    ) throws -> AshVerificationRequest {
        let canonical = try AshPayload.canonicalize(Array(body.utf8), contentType: contentType)
        let built = AshProof.build(
            mode: context.mode, binding: context.binding, contextId: context.contextId, nonce: context.nonce,
            canonicalPayload: canonical)
        return AshVerificationRequest(
            contextId: context.contextId, proof: proof ?? built, contentType: contentType, body: Array(body.utf8))
    }

    func expectRejection(_ code: AshError.Code, _ what: String, _ body: () async throws -> Void) async throws {
        try await expectFailure(code, what, code: \AshError.code, body)
    }

    func verifyChecksInTheProtocolsOrder() async throws {
        let context = makeContext(mode: .strict, nonce: AshIdentifier.generate())
        try await store.put(context)
        let binding = context.binding
        let at = now + 1
        let good = try request(for: context)
        var noId = good
        noId.contextId = nil
        try await expectRejection(.invalidContext, "no context id") {
            _ = try await store.verify(noId, expectedBinding: binding, now: at)
        }
        var unknown = good
        unknown.contextId = AshIdentifier.generate()
        try await expectRejection(.invalidContext, "unknown context") {
            _ = try await store.verify(unknown, expectedBinding: binding, now: at)
        }
        var overlong = good
        overlong.contextId = String(repeating: "x", count: 300)
        try await expectRejection(.invalidContext, "a context id longer than any stored") {
            _ = try await store.verify(overlong, expectedBinding: binding, now: at)
        }
        try await expectRejection(.endpointMismatch, "another route") {
            _ = try await store.verify(good, expectedBinding: "POST /api/other", now: at)
        }
        var unsupported = good
        unsupported.contentType = "text/plain"
        try await expectRejection(.unsupportedContentType, "text/plain body") {
            _ = try await store.verify(unsupported, expectedBinding: binding, now: at)
        }
        var malformed = good
        malformed.body = Array("{not json".utf8)
        try await expectRejection(.canonicalizationFailed, "malformed JSON") {
            _ = try await store.verify(malformed, expectedBinding: binding, now: at)
        }
        for (name, proof) in [
            ("wrong proof", String(repeating: "A", count: 43)), ("empty proof", ""),
            ("very long proof", String(repeating: "A", count: 1_000)),
        ] {
            try await expectRejection(.integrityFailed, name) {
                _ = try await store.verify(try request(for: context, proof: proof), expectedBinding: binding, now: at)
            }
        }
        var noProof = good
        noProof.proof = nil
        try await expectRejection(.integrityFailed, "no proof") {
            _ = try await store.verify(noProof, expectedBinding: binding, now: at)
        }
        // Rejections never burn the context.
        let verified = try await store.verify(good, expectedBinding: binding, now: at)
        var expected = context
        expected.consumedAt = at
        try expect(verified == expected, "verify returned \(verified), want \(expected)")
        try await expect(store.get(context.contextId)?.consumedAt == at, "verify did not store consumedAt")
        try await expectRejection(.replayDetected, "a second verification") {
            _ = try await store.verify(good, expectedBinding: binding, now: at + 1)
        }
        try await expectRejection(.integrityFailed, "a replay with a wrong proof") {
            _ = try await store.verify(try request(for: context, proof: "x"), expectedBinding: binding, now: at + 1)
        }
        // Every mode, with and without a nonce, a form body and an empty one.
        for mode in AshMode.allCases {
            for nonce in [nil, AshIdentifier.generate()] {
                for (body, type) in [
                    ("b=2&a=1", "application/x-www-form-urlencoded"), ("", "application/x-www-form-urlencoded"),
                ] {
                    let other = makeContext(binding: "PATCH /api/v2/items", mode: mode, nonce: nonce)
                    try await store.put(other)
                    let result = try await store.verify(
                        try request(for: other, body: body, contentType: type), expectedBinding: other.binding, now: at)
                    try expect(result.consumedAt == at, "\(mode), nonce \(nonce != nil), \(type): not consumed")
                }
            }
        }
    }

    func verifyAnswersExpiredWithinTheGrace() async throws {
        let context = makeContext(ttl: 60_000)
        try await store.put(context)
        let good = try request(for: context)
        try await expectRejection(.contextExpired, "verification at expiresAt") {
            _ = try await store.verify(good, expectedBinding: context.binding, now: context.expiresAt)
        }
        // Expiry is checked before the route and the proof, as the reference does.
        try await expectRejection(.contextExpired, "an expired context on another route") {
            _ = try await store.verify(good, expectedBinding: "GET /elsewhere", now: context.expiresAt + 1)
        }
        let stored = try await store.get(context.contextId)
        try expect(
            stored == context, "get of an expired context within its grace answered \(String(describing: stored))")
        let verified = try await store.verify(good, expectedBinding: context.binding, now: context.expiresAt - 1)
        try expect(verified.consumedAt == context.expiresAt - 1, "verification just before expiry failed")
        try await expectRejection(.contextExpired, "a consumed context after expiry") {
            _ = try await store.verify(good, expectedBinding: context.binding, now: context.expiresAt)
        }
    }

    func concurrentVerifiersHaveOneWinner() async throws {
        let contexts = (0..<max(1, options.racedContexts / 4)).map { _ in makeContext(nonce: AshIdentifier.generate()) }
        for context in contexts { try await store.put(context) }
        let requests = try contexts.map { try request(for: $0) }
        let at = now
        let store = self.store
        let verifiers = options.consumersPerContext
        let tallies = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for (index, context) in contexts.enumerated() {
                let request = requests[index]
                for _ in 0..<verifiers {
                    group.addTask {
                        do {
                            _ = try await store.verify(request, expectedBinding: context.binding, now: at)
                            return (index, "verified")
                        } catch let error as AshError {
                            return (index, error.code.rawValue)
                        }
                    }
                }
            }
            var tallies = [[String: Int]](repeating: [:], count: contexts.count)
            for try await (index, outcome) in group { tallies[index][outcome, default: 0] += 1 }
            return tallies
        }
        for (index, tally) in tallies.enumerated() {
            try expect(
                tally["verified"] == 1 && tally[AshError.Code.replayDetected.rawValue] == verifiers - 1,
                "context \(index): \(tally) (want exactly one verified, the rest replays)")
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
        let creators = options.creators
        let perCreator = options.uniqueIdCreations / creators
        let ids = try await withThrowingTaskGroup(of: [String].self) { group in
            for _ in 0..<creators {
                group.addTask {
                    var ids: [String] = []
                    ids.reserveCapacity(perCreator)
                    for _ in 0..<perCreator {
                        ids.append(
                            try await store.create(CreateRequest(binding: "GET /u", ttlMilliseconds: 60_000)).contextId)
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
