import AshStore
import NIOCore
import Testing

@testable import AshRedis

@Suite struct ReplicaAcknowledgementTests {
    let acknowledgement = ReplicaAcknowledgement(
        consumesOf: RedisConfiguration(consumeReplicas: 1, consumeReplicaTimeout: .milliseconds(250)))!

    @Test func waitsOnlyWhenAsked() {
        #expect(ReplicaAcknowledgement(consumesOf: RedisConfiguration()) == nil)
        #expect(acknowledgement.command == RESPCommand("WAIT", "1", "250"))
    }

    @Test func confirmedWritesKeepTheirReplies() {
        var replies: [Result<RESPValue, ContextStoreError>] = [.success(.integer(1)), .success(.integer(1))]
        acknowledgement.settle(&replies, endpoint: "h:1")
        #expect(replies.count == 1)
        #expect((try? replies[0].get()) == .integer(1))
    }

    @Test(arguments: [
        Result<RESPValue, ContextStoreError>.success(.integer(0)),
        .success(.integer(-1)),
        .success(.error(RESPErrorReply(message: "ERR WAIT cannot be used with replica instances"))),
        .success(.null),
        .failure(ContextStoreError(.timedOut, "late")),
    ])
    func unconfirmedWritesFailClosedButErrorRepliesStay(_ wait: Result<RESPValue, ContextStoreError>) {
        let noScript = RESPValue.error(RESPErrorReply(message: "NOSCRIPT No matching script"))
        var replies: [Result<RESPValue, ContextStoreError>] = [
            .success(.integer(1)), .success(.integer(0)), .success(noScript), wait,
        ]
        acknowledgement.settle(&replies, endpoint: "h:1")
        #expect(replies.count == 3)
        for reply in replies.prefix(2) {
            #expect(throws: ContextStoreError.self) { try reply.get() }
        }
        #expect((try? replies[2].get()) == noScript)
    }

    @Test func timeoutsAtTheExtremesNeverTrap() throws {
        var configuration = RedisConfiguration(commandTimeout: .seconds(Int64.max), consumeReplicas: 1)
        configuration.consumeReplicaTimeout = .seconds(Int64.max / 2)
        try configuration.validate()
        #expect(ReplicaAcknowledgement(consumesOf: configuration)?.timeoutMilliseconds == Int64.max)
        configuration.consumeReplicaTimeout = .nanoseconds(1)
        #expect(throws: ContextStoreError.self) { try configuration.validate() }
        configuration.consumeReplicaTimeout = .milliseconds(1)
        #expect(ReplicaAcknowledgement(consumesOf: configuration)?.timeoutMilliseconds == 1)
    }
}
