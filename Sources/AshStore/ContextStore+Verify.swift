import AshCore

extension ContextStore {
    /// Verifies a request and consumes its context at the store's clock's
    /// time; the JavaScript SDK's `verifyRequest`. See
    /// ``verifyInSteps(_:expectedBinding:now:)`` for the order of checks.
    ///
    /// - Returns: the context as consumed.
    /// - Throws: ``AshError`` for a rejected request; ``ContextStoreError``
    ///   when the store fails (the request must then be refused, too).
    @discardableResult
    public func verifyRequest(_ request: AshVerificationRequest, expectedBinding: String) async throws -> AshContext {
        try await verify(request, expectedBinding: expectedBinding, now: clock.nowMilliseconds())
    }

    /// Verifies a request and consumes its context with the store's basic
    /// operations (a get, then a consume), failing closed in the protocol's
    /// order:
    ///
    /// 1. empty or missing context id → `ASH_INVALID_CONTEXT`
    /// 2. no such context → `ASH_INVALID_CONTEXT`
    /// 3. `expiresAt <= now` → `ASH_CONTEXT_EXPIRED`
    /// 4. binding differs → `ASH_ENDPOINT_MISMATCH`
    /// 5. canonicalize the body by content type → `ASH_UNSUPPORTED_CONTENT_TYPE`
    ///    or `ASH_CANONICALIZATION_FAILED`
    /// 6. recompute the proof from the *stored* mode, binding, id and nonce
    /// 7. constant-time compare with the request's proof → `ASH_INTEGRITY_FAILED`
    /// 8. atomic consume → `ASH_REPLAY_DETECTED`; `ASH_CONTEXT_EXPIRED` or
    ///    `ASH_INVALID_CONTEXT` when the context expired or vanished in between
    ///
    /// A wrong proof never burns the context: consume comes last. This is
    /// the default of ``verify(_:expectedBinding:now:)``, and what every
    /// store's fast path must answer the same as.
    public func verifyInSteps(
        _ request: AshVerificationRequest,
        expectedBinding: String,
        now: Int64
    ) async throws -> AshContext {
        let contextId = try request.requiredContextId()
        guard var context = try await get(contextId) else { throw AshError(.invalidContext) }
        try AshVerification.check(
            context, expectedBinding: expectedBinding, proof: request.proof,
            canonicalPayload: request.canonicalPayload, now: now)
        switch try await consume(contextId, now: now) {
        case .consumed:
            context.consumedAt = now
            return context
        case .alreadyConsumed:
            throw AshError(.replayDetected)
        case .expired:
            throw AshError(.contextExpired)
        case .missing:
            throw AshError(.invalidContext, detail: "context vanished before consume")
        }
    }
}

/// The checks of verification that need the stored context (steps 3 to 7
/// of ``ContextStore/verifyInSteps(_:expectedBinding:now:)``): pure, so the
/// engine runs them inside its shard step and ashd on its side of VERIFY.
public enum AshVerification {
    /// Checks a found context against a request, in the protocol's order:
    /// expiry, binding, the body's canonical form, the proof. Whether the
    /// context was consumed is not checked: that is the consume's answer.
    ///
    /// - Parameters:
    ///   - canonicalPayload: the request body's canonical form, or why it has none.
    ///   - proof: the request's `x-ash-proof`.
    /// - Throws: the first ``AshError`` that applies.
    public static func check(
        _ context: AshContext,
        expectedBinding: String,
        proof: String?,
        canonicalPayload: Result<String, AshError>,
        now: Int64
    ) throws(AshError) {
        guard now < context.expiresAt else { throw AshError(.contextExpired) }
        guard context.binding == expectedBinding else { throw AshError(.endpointMismatch) }
        let payload = try canonicalPayload.get()
        let expectedProof = AshProof.build(
            mode: context.mode,
            binding: context.binding,
            contextId: context.contextId,
            nonce: context.nonce,
            canonicalPayload: payload
        )
        guard let proof, AshProof.timingSafeEqual(expectedProof, proof) else {
            throw AshError(.integrityFailed)
        }
    }
}
