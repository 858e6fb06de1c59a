import AshCore
import AshStore
import AshWire
import NIOCore
import Testing

/// The example frames of Docs/PROTOCOL.md. The hex was produced by an
/// independent encoder written from the document (a short Python script),
/// so these tests check that the document and the code agree.
@Suite("Documented example frames")
struct ExampleFrameTests {
    enum Message: Sendable, CustomStringConvertible {
        case request(WireRequest)
        case response(WireResponse)

        var description: String {
            switch self {
            case .request(let request): "\(request.id)"
            case .response(let response): "\(response.id)"
            }
        }
    }

    static let id = "AAECAwQFBgcICQoLDA0ODw"

    static let examples: [(name: String, message: Message, requestId: UInt32, hex: String)] = {
        let id = ExampleFrameTests.id
        return [
            (
                "hello", .request(.hello(WireHello(token: Array("s3cret".utf8), clientName: "ash-cli"))), 1,
                "00 00 00 1e 48 00 00 00 01 41 53 48 57 00 01 00 01 00 06 73 33 63 72 65 74 00 07 61 73 68 2d 63 6c 69"
            ),
            (
                "helloReply",
                .response(
                    .hello(
                        WireHelloReply(
                            version: 1, maximumFrameLength: 1 << 20, maximumInFlight: 256, maximumBatchEntries: 1_024,
                            serverName: "ashd"))), 1,
                "00 00 00 17 48 00 00 00 01 00 01 00 10 00 00 00 00 01 00 04 00 00 04 61 73 68 64"
            ),
            ("ping", .request(.ping), 2, "00 00 00 05 50 00 00 00 02"),
            ("pong", .response(.pong), 2, "00 00 00 05 50 00 00 00 02"),
            (
                "create",
                .request(
                    .create(
                        CreateRequest(
                            binding: "POST /api/transfer", ttlMilliseconds: 30_000, mode: .balanced, issueNonce: true))),
                3,
                "00 00 00 23 43 00 00 00 03 00 00 00 00 00 00 75 30 01 01 00 12 50 4f 53 54 20 2f 61 70 69 2f 74 72 61 6e 73 66 65 72"
            ),
            (
                "created",
                .response(
                    .created(
                        AshContextPublicInfo(
                            contextId: id, expiresAt: 1_764_000_030_000, mode: .balanced,
                            nonce: "EBESExQVFhcYGRobHB0eHw"))), 3,
                "00 00 00 3f 43 00 00 00 03 00 16 41 41 45 43 41 77 51 46 42 67 63 49 43 51 6f 4c 44 41 30 4f 44 77 00 00 01 9a b6 98 5d 30 01 01 00 16 45 42 45 53 45 78 51 56 46 68 63 59 47 52 6f 62 48 42 30 65 48 77"
            ),
            (
                "put",
                .request(
                    .put(
                        AshContext(
                            contextId: id, binding: "POST /api/transfer", mode: .strict, issuedAt: 1_764_000_000_000,
                            expiresAt: 1_764_000_030_000))), 4,
                "00 00 00 44 55 00 00 00 04 00 16 41 41 45 43 41 77 51 46 42 67 63 49 43 51 6f 4c 44 41 30 4f 44 77 00 12 50 4f 53 54 20 2f 61 70 69 2f 74 72 61 6e 73 66 65 72 02 00 00 01 9a b6 97 e8 00 00 00 01 9a b6 98 5d 30 00 00"
            ),
            ("stored", .response(.stored), 4, "00 00 00 05 55 00 00 00 04"),
            (
                "get", .request(.get(contextId: id)), 5,
                "00 00 00 1d 47 00 00 00 05 00 16 41 41 45 43 41 77 51 46 42 67 63 49 43 51 6f 4c 44 41 30 4f 44 77"
            ),
            (
                "context",
                .response(
                    .context(
                        AshContext(
                            contextId: id, binding: "POST /api/transfer", mode: .strict, issuedAt: 1_764_000_000_000,
                            expiresAt: 1_764_000_030_000, consumedAt: 1_764_000_001_000))), 5,
                "00 00 00 4d 47 00 00 00 05 01 00 16 41 41 45 43 41 77 51 46 42 67 63 49 43 51 6f 4c 44 41 30 4f 44 77 00 12 50 4f 53 54 20 2f 61 70 69 2f 74 72 61 6e 73 66 65 72 02 00 00 01 9a b6 97 e8 00 00 00 01 9a b6 98 5d 30 00 01 00 00 01 9a b6 97 eb e8"
            ),
            ("notFound", .response(.context(nil)), 5, "00 00 00 06 47 00 00 00 05 00"),
            (
                "consume", .request(.consume(WireConsume(contextId: id))), 6,
                "00 00 00 1e 58 00 00 00 06 00 00 16 41 41 45 43 41 77 51 46 42 67 63 49 43 51 6f 4c 44 41 30 4f 44 77"
            ),
            ("consumed", .response(.consumed(.consumed)), 6, "00 00 00 06 58 00 00 00 06 00"),
            (
                "consumeBatch",
                .request(.consumeBatch(WireConsumeBatch(contextIds: ["a", "b"], now: 1_764_000_001_000))), 7,
                "00 00 00 16 78 00 00 00 07 01 00 00 01 9a b6 97 eb e8 00 02 00 01 61 00 01 62"
            ),
            (
                "consumedBatch",
                .response(
                    .consumedBatch([
                        .success(.alreadyConsumed), .failure(WireError(.storeUnavailable, "shard 1 unavailable")),
                    ])), 7,
                "00 00 00 21 78 00 00 00 07 00 02 00 01 01 00 68 00 13 73 68 61 72 64 20 31 20 75 6e 61 76 61 69 6c 61 62 6c 65"
            ),
            (
                "createBatch",
                .request(
                    .createBatch([
                        CreateRequest(binding: "GET /a", ttlMilliseconds: 1_000, mode: .minimal),
                        CreateRequest(binding: "GET /b", ttlMilliseconds: 1_000, mode: .strict, issueNonce: true),
                    ])), 8,
                "00 00 00 2b 63 00 00 00 08 00 02 00 00 00 00 00 00 03 e8 00 00 00 06 47 45 54 20 2f 61 00 00 00 00 00 00 03 e8 02 01 00 06 47 45 54 20 2f 62"
            ),
            (
                "delete", .request(.delete(contextId: id)), 9,
                "00 00 00 1d 44 00 00 00 09 00 16 41 41 45 43 41 77 51 46 42 67 63 49 43 51 6f 4c 44 41 30 4f 44 77"
            ),
            ("deleted", .response(.deleted(true)), 9, "00 00 00 06 44 00 00 00 09 01"),
            ("cleanup", .request(.cleanup), 10, "00 00 00 05 4c 00 00 00 0a"),
            ("cleanedUp", .response(.cleanedUp(removed: 3)), 10, "00 00 00 0d 4c 00 00 00 0a 00 00 00 00 00 00 00 03"),
            ("stats", .request(.stats), 11, "00 00 00 05 53 00 00 00 0b"),
            (
                "statsReply",
                .response(
                    .stats([
                        WireStatistic(name: "contexts.live", value: 1_200),
                        WireStatistic(name: "shard.0.contexts.live", value: 600),
                    ])), 11,
                "00 00 00 3d 53 00 00 00 0b 00 02 00 0d 63 6f 6e 74 65 78 74 73 2e 6c 69 76 65 00 00 00 00 00 00 04 b0 00 15 73 68 61 72 64 2e 30 2e 63 6f 6e 74 65 78 74 73 2e 6c 69 76 65 00 00 00 00 00 00 02 58"
            ),
            (
                "error", .response(.error(WireError(.storeDuplicateContext, "a context with this id exists"))), 4,
                "00 00 00 26 45 00 00 00 04 00 66 00 1d 61 20 63 6f 6e 74 65 78 74 20 77 69 74 68 20 74 68 69 73 20 69 64 20 65 78 69 73 74 73"
            ),
            (
                "connectionError", .response(.error(WireError(.notAuthenticated, "HELLO must come first"))), 0,
                "00 00 00 1e 45 00 00 00 00 00 07 00 15 48 45 4c 4c 4f 20 6d 75 73 74 20 63 6f 6d 65 20 66 69 72 73 74"
            ),
        ]
    }()

    @Test("encoding gives the documented bytes", arguments: examples.map(\.name))
    func encode(name: String) throws {
        let example = try #require(Self.examples.first { $0.name == name })
        let bytes: ByteBuffer
        switch example.message {
        case .request(let request): bytes = try Samples.encode(request, requestId: example.requestId)
        case .response(let response): bytes = try Samples.encode(response, requestId: example.requestId)
        }
        #expect(bytes.plainHex == example.hex)
    }

    @Test("decoding the documented bytes gives the message", arguments: examples.map(\.name))
    func decode(name: String) throws {
        let example = try #require(Self.examples.first { $0.name == name })
        let frame = try #require(try Samples.parseOne(try ByteBuffer(plainHexEncodedBytes: example.hex)))
        #expect(frame.requestId == example.requestId)
        switch example.message {
        case .request(let request): #expect(try WireRequest(frame: frame) == request)
        case .response(let response): #expect(try WireResponse(frame: frame) == response)
        }
    }
}
