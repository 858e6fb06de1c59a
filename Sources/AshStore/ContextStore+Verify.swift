import AshCore

extension ContextStore {
    /// Verifies a request and consumes its context, failing closed in the
    /// protocol's order:
    ///
    /// 1. empty or missing context id → `ASH_INVALID_CONTEXT`
    /// 2. no such context → `ASH_INVALID_CONTEXT`
    /// 3. `expiresAt <= now` → `ASH_CONTEXT_EXPIRED`
    /// 4. binding differs → `ASH_ENDPOINT_MISMATCH`
    /// 5. canonicalize the body by content type → `ASH_UNSUPPORTED_CONTENT_TYPE`
    ///    or `ASH_CANONICALIZATION_FAILED`
    /// 6. recompute the proof from the *stored* mode, binding, id and nonce
    /// 7. constant-time compare with the request's proof → `ASH_INTEGRITY_FAILED`
    /// 8. atomic consume → `ASH_REPLAY_DETECTED`, or `ASH_INVALID_CONTEXT`
    ///    when the context vanished in between
    ///
    /// A wrong proof never burns the context: consume comes last.
    ///
    /// - Returns: the context as consumed.
    /// - Throws: ``AshError`` for a rejected request; ``ContextStoreError``
    ///   when the store fails (the request must then be refused, too).
    @discardableResult
    public func verifyRequest(
        _ request: AshVerificationRequest,
        expectedBinding: String,
        clock: some WallClock = SystemWallClock()
    ) async throws -> AshContext {
        guard let contextId = request.contextId, !contextId.isEmpty else {
            throw AshError(.invalidContext, detail: "missing context id")
        }
        guard var context = try await get(contextId) else {
            throw AshError(.invalidContext)
        }
        let now = clock.nowMilliseconds()
        guard now < context.expiresAt else { throw AshError(.contextExpired) }
        guard context.binding == expectedBinding else { throw AshError(.endpointMismatch) }
        let canonicalPayload = try AshPayload.canonicalize(request.body, contentType: request.contentType)
        let expectedProof = AshProof.build(
            mode: context.mode,
            binding: context.binding,
            contextId: context.contextId,
            nonce: context.nonce,
            canonicalPayload: canonicalPayload
        )
        guard let proof = request.proof, AshProof.timingSafeEqual(expectedProof, proof) else {
            throw AshError(.integrityFailed)
        }
        switch try await consume(contextId, now: now) {
        case .consumed:
            context.consumedAt = now
            return context
        case .alreadyConsumed:
            throw AshError(.replayDetected)
        case .missing:
            throw AshError(.invalidContext, detail: "context vanished before consume")
        }
    }
}
