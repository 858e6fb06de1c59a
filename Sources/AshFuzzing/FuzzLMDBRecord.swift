import AshCore
import AshEngine
import AshLMDB
import AshStore

/// Fuzz target 5: AshLMDB's record and key decoding — what recovery reads
/// from a data folder that may be damaged — and the engine's recovery of
/// what decodes.
///
/// Input layout: one byte *n*, then *n* bytes of key (expiry prefix and
/// id), then the record.
///
/// Checks: decoding never traps, and a record it cannot read is refused
/// with a `ContextRecordError` that says why; the cheap `expiresAt` read
/// agrees with the full decode; what decodes re-encodes to a record that
/// decodes to the same context (and to the same bytes again); consuming in
/// place changes only `consumedAt`; the key of a decoded context gives back
/// its id and expiry. Then the record is recovered into an engine as LMDB
/// recovery does (skipped when expired, else restored into a shard): the
/// engine either refuses it with a `ContextStoreError` or holds it, as
/// decoded, with its internal checks passing.
package func fuzzLMDBRecord(_ data: UnsafeRawBufferPointer) {
    var input = FuzzInput(data)
    let key = Array(input.bytes(Int(input.byte())))
    let record = Array(input.rest())
    guard let context = checkDecoding(key: key, record: record) else { return }
    checkRecovery(context, expiresAt: context.expiresAt)
}

/// The decoded context, or `nil` when the record is refused.
private func checkDecoding(key: [UInt8], record: [UInt8]) -> PersistedContext? {
    key.withUnsafeBytes { key in
        record.withUnsafeBytes { record -> PersistedContext? in
            let expiresAt = Result { () throws(ContextRecordError) in try ContextRecord.expiresAt(record) }
            var bindings = BindingCache()
            let context: PersistedContext
            do throws(ContextRecordError) {
                context = try ContextRecord.decode(key: key, record, bindings: &bindings)
            } catch {
                fuzzCheck(!error.description.isEmpty, "a record refused without a reason")
                if case .failure(let headerError) = expiresAt {
                    fuzzCheck(headerError == error, "expiresAt refuses with \(headerError), decode with \(error)")
                }
                do throws(ContextRecordError) {
                    let decoded = try ContextRecord.decode(contextId: "x", record)
                    fuzzCheck(false, "decode(contextId:) reads a record decode(key:) refuses: \(decoded)")
                } catch let again {
                    fuzzCheck(again == error, "the two decoders refuse for different reasons")
                }
                return nil
            }
            fuzzCheck((try? expiresAt.get()) == context.expiresAt, "expiresAt disagrees with the decoded record")
            fuzzCheck(context.id == ContextKey.id(ofKey: key), "the decoded id is not the key's")
            do throws(ContextRecordError) {
                let byId = try ContextRecord.decode(contextId: "x", record)
                var expected = AshContext(context)
                expected.contextId = "x"
                fuzzCheck(byId == expected, "decode(contextId:) differs from decode(key:)")
            } catch {
                fuzzCheck(false, "decode(contextId:) refuses a record decode(key:) reads: \(error)")
            }
            checkReencoding(context, key: key)
            checkConsumeInPlace(record, context, key: key)
            checkKey(context)
            return context
        }
    }
}

private func checkReencoding(_ context: PersistedContext, key: UnsafeRawBufferPointer) {
    // encode needs the texts to fit their 16-bit lengths (validate() promises far less).
    var nonceBytes = 0
    if case .foreign(let text)? = context.nonce { nonceBytes = text.utf8.count }
    guard context.binding.utf8.count <= Int(UInt16.max), nonceBytes <= Int(UInt16.max) else { return }
    let encoded = ContextRecord.encode(context)
    fuzzCheck(encoded.count == ContextRecord.size(of: context), "the encoded size is not size(of:)")
    encoded.withUnsafeBytes { encoded in
        var bindings = BindingCache()
        do {
            let decoded = try ContextRecord.decode(key: key, encoded, bindings: &bindings)
            fuzzCheck(decoded == context, "a re-encoded record decodes to \(decoded), not \(context)")
            fuzzCheck(ContextRecord.encode(decoded).elementsEqual(encoded), "encoding is not a fixpoint")
        } catch {
            fuzzCheck(false, "a re-encoded record does not decode: \(error)")
        }
    }
}

private func checkConsumeInPlace(
    _ record: UnsafeRawBufferPointer, _ context: PersistedContext, key: UnsafeRawBufferPointer
) {
    var copy = Array(record)
    let at: Int64 = 1_767_225_600_123
    copy.withUnsafeMutableBytes { copy in
        do {
            let consumed = try ContextRecord.consumeInPlace(copy, at: at)
            fuzzCheck(consumed == (context.consumedAt == nil), "consumeInPlace answers \(consumed) for \(context)")
            var bindings = BindingCache()
            let after = try ContextRecord.decode(key: key, UnsafeRawBufferPointer(copy), bindings: &bindings)
            var expected = context
            if consumed { expected.consumedAt = at }
            fuzzCheck(after == expected, "consumeInPlace changed more than consumedAt")
        } catch {
            fuzzCheck(false, "a record that decodes cannot be consumed in place: \(error)")
        }
    }
}

private func checkKey(_ context: PersistedContext) {
    ContextKey.withKey(context.id, expiresAt: context.expiresAt) { key in
        fuzzCheck(key.count == ContextKey.length(of: context.id), "a key of another length than length(of:)")
        fuzzCheck(ContextKey.id(ofKey: key) == context.id, "a key gives back another id")
        if key.count > ContextKey.expiryLength {
            fuzzCheck(ContextKey.expiresAt(of: key) == context.expiresAt, "a key gives back another expiry")
        }
    }
}

/// Recovers the context into an engine as `LMDBContextPersistence.recover`
/// does: expired records are skipped, the others restored into their shard.
private func checkRecovery(_ context: PersistedContext, expiresAt: Int64) {
    let now: Int64 = 1_767_225_600_000
    CallingThreadExecutor.runToCompletion {
        let persistence = OneRecordPersistence(context: context)
        let engine: ContextEngine
        do {
            engine = try await ContextEngine.open(
                configuration: EngineConfiguration(shardCount: 2, maximumContexts: 8, clock: FixedClock(now: now)),
                persistence: persistence)
        } catch let error as ContextStoreError {
            fuzzCheck(!error.message.isEmpty, "recovery refused a record without a reason")
            return
        } catch {
            fuzzCheck(false, "recovery failed with \(type(of: error)), not a ContextStoreError")
            return
        }
        await engine.checkInvariants()
        let held = await engine.get(context.id)
        if expiresAt <= now {
            fuzzCheck(held == nil, "an expired record was recovered")
        } else {
            var expected = AshContext(context)
            expected.contextId = context.id.description
            fuzzCheck(held == expected, "recovered \(String(describing: held)), decoded \(expected)")
        }
    }
}

/// A persistence holding one record; commits (repairs) succeed and vanish.
private struct OneRecordPersistence: ContextPersistence {
    let context: PersistedContext

    func recover(now: Int64, _ visit: (PersistedContext) throws -> Void) async throws {
        if context.expiresAt > now { try visit(context) }
    }

    func storedContextCount() async throws -> Int { 1 }

    func commit(_ changes: [PersistedChange], isolation: isolated (any Actor)?) async throws {}
}

private struct FixedClock: WallClock {
    let now: Int64

    func nowMilliseconds() -> Int64 { now }
}
