import AshRedis
import AshStore
import NIOCore
import Testing

@Suite struct RedisErrorsTests {
    @Test(arguments: [
        ("NOAUTH Authentication required.", ContextStoreError.Code.authenticationFailed),
        ("WRONGPASS invalid username-password pair or user is disabled.", .authenticationFailed),
        ("NOPERM User ash has no permissions to access the 'x' key", .authenticationFailed),
        ("OOM command not allowed when used memory > 'maxmemory'.", .storageFull),
        ("WRONGTYPE Operation against a key holding the wrong kind of value", .corruptData),
        ("LOADING Redis is loading the dataset in memory", .unavailable),
        ("READONLY You can't write against a read only replica.", .unavailable),
        ("BUSY Redis is busy running a script.", .unavailable),
        ("MOVED 3999 127.0.0.1:6381", .unavailable),
        ("ERR syntax error", .internalFailure),
    ])
    func errorRepliesMapToStableCodes(_ message: String, _ code: ContextStoreError.Code) {
        let error = RedisErrors.reply(RESPErrorReply(message: message), to: "SET", endpoint: "h:1")
        #expect(error.code == code)
        #expect(error.message.contains("h:1") && error.message.contains("SET"))
    }

    @Test func anyAuthErrorIsAnAuthenticationFailure() {
        for message in [
            "WRONGPASS invalid username-password pair or user is disabled.",
            "ERR AUTH <password> called without any password configured for the default user.",
            "ERR invalid password",
        ] {
            let error = RedisErrors.authenticationReply(RESPErrorReply(message: message), endpoint: "h:1")
            #expect(error.code == .authenticationFailed)
        }
    }

    @Test func transportFailuresAreUnavailableAndBadBytesAProtocolViolation() {
        #expect(
            RedisErrors.connectFailure(ChannelError.connectTimeout(.seconds(1)), endpoint: "h:1").code == .unavailable)
        #expect(
            RedisErrors.connectFailure(ChannelError.connectTimeout(.seconds(1)), endpoint: "h:1").message.contains(
                "1.0 s"))
        #expect(RedisErrors.connectionFailure(ChannelError.ioOnClosedChannel, endpoint: "h:1").code == .unavailable)
        #expect(RedisErrors.connectionFailure(RESPProtocolError("bad"), endpoint: "h:1").code == .protocolViolation)
        let passthrough = ContextStoreError(.timedOut, "late")
        #expect(RedisErrors.connectionFailure(passthrough, endpoint: "h:1") == passthrough)
    }
}
