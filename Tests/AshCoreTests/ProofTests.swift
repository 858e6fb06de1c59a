import AshCore
import Testing

@Suite struct ProofTests {
    @Test func matchesTheReferenceVector() {
        let proof = AshProof.build(
            mode: .balanced, binding: "POST /api/transfer", contextId: "ctx-xyz-789", nonce: "nonce-456",
            canonicalPayload: #"{"amount":100,"to":"user@example.com"}"#)
        #expect(proof == "gnyF7sOhNr9_gx-d8oxNx_VghO9Tqvzg3t-KB9ewR6U")
    }

    @Test func emptyNonceCountsAsAbsent() {
        let withEmpty = AshProof.build(
            mode: .strict, binding: "GET /", contextId: "c", nonce: "", canonicalPayload: "{}")
        let without = AshProof.build(mode: .strict, binding: "GET /", contextId: "c", canonicalPayload: "{}")
        #expect(withEmpty == without)
        #expect(withEmpty.count == 43)
    }

    @Test func timingSafeEqualComparesBytes() {
        #expect(AshProof.timingSafeEqual("abc", "abc"))
        #expect(!AshProof.timingSafeEqual("abc", "abd"))
        #expect(!AshProof.timingSafeEqual("abc", "abcd"))
        #expect(!AshProof.timingSafeEqual("", "a"))
        #expect(AshProof.timingSafeEqual("", ""))
        // NFC and NFD differ as bytes even though Swift's == calls them equal.
        #expect(!AshProof.timingSafeEqual("caf\u{e9}", "cafe\u{301}"))
    }
}
