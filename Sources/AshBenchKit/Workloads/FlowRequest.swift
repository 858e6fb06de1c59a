import AshCore
import AshStore

/// What a client does before calling a protected endpoint: canonicalize
/// the JSON body and build the proof from the issued context.
package struct FlowRequest: Sendable {
    /// The endpoint every context is bound to.
    package let binding: String
    /// The request body.
    package let body: [UInt8]
    /// The body's canonical form (canonicalized once: every request sends
    /// the same body).
    package let canonicalBody: String

    /// The content type of ``body``.
    package static let contentType = "application/json"

    /// - Throws: ``AshError`` when `body` is not JSON the canonicalizer accepts.
    package init(
        binding: String = AshBinding.normalize(method: "POST", path: "/api/transfer"),
        body: String = #"{"to":"acct-4711","amount":250.5,"currency":"EUR","memo":"ash-bench","tags":["a","b"]}"#
    ) throws(AshError) {
        self.binding = binding
        self.body = Array(body.utf8)
        self.canonicalBody = try AshPayload.canonicalize(self.body, contentType: Self.contentType)
    }

    /// The request a client sends with `context`.
    package func request(for context: AshContextPublicInfo) -> AshVerificationRequest {
        let proof = AshProof.build(
            mode: context.mode,
            binding: binding,
            contextId: context.contextId,
            nonce: context.nonce,
            canonicalPayload: canonicalBody
        )
        return AshVerificationRequest(
            contextId: context.contextId, proof: proof, contentType: Self.contentType, body: body)
    }
}
