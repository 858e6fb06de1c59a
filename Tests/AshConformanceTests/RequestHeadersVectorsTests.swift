import AshCore
import AshFetch
import Foundation
import Testing

/// The client side's headers against the public proof vectors: given the
/// body (whose canonical form the vector holds) and the context, the proof
/// is the reference's.
@Suite struct RequestHeadersVectorsTests {
    struct Vectors: Decodable {
        struct Case: Decodable {
            struct Input: Decodable {
                var mode: String
                var binding: String
                var contextId: String
                var nonce: String?
                var canonicalPayload: String
            }
            var id: String
            var input: Input
            var expected: String
        }
        struct Groups: Decodable { var buildProof: [Case] }
        var groups: Groups
    }

    @Test func proofsMatchTheReference() throws {
        let url = try #require(Bundle.module.url(forResource: "ash-v1-public-vectors", withExtension: "json"))
        let vectors = try JSONDecoder().decode(Vectors.self, from: Data(contentsOf: url))
        #expect(vectors.groups.buildProof.count == 8)
        for vector in vectors.groups.buildProof {
            let input = vector.input
            let mode = try #require(AshMode(rawValue: input.mode))
            let contentType =
                input.canonicalPayload.hasPrefix("{") ? "application/json" : "application/x-www-form-urlencoded"
            let context = AshContextPublicInfo(contextId: input.contextId, expiresAt: 0, mode: mode, nonce: input.nonce)
            let headers = try AshRequestHeaders(
                context: context, binding: input.binding, contentType: contentType,
                body: Array(input.canonicalPayload.utf8))
            #expect(headers.proof == vector.expected, "\(vector.id)")
            #expect(headers.contextId == input.contextId)
            #expect(headers.fields.map(\.name) == ["x-ash-context-id", "x-ash-proof"])
        }
    }

    @Test func theMethodAndPathMakeTheBindingAndAnEmptyJSONBodyIsTheEmptyObject() throws {
        let context = AshContextPublicInfo(contextId: "empty-ctx", expiresAt: 0, mode: .strict)
        // bp-strict-empty-object-payload: "POST /api/ping" over "{}".
        let headers = try AshRequestHeaders(
            context: context, method: "post", path: "//api/ping/?q=1", contentType: "application/json; charset=utf-8",
            body: [UInt8]())
        #expect(headers.proof == "hDu40a-EDbYMGrIxqzisdfqoNMjNrKXBvrcyqv1QrSc")
        #expect(throws: AshError.self) {
            try AshRequestHeaders(context: context, method: "POST", path: "/", contentType: "text/plain", body: [0x41])
        }
    }
}
