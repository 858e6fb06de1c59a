import AshStore
import PostgresNIO
import Testing

@testable import AshPostgres

struct PostgresErrorMappingTests {
    @Test(arguments: [
        ("23505", ContextStoreError.Code.duplicateContext),
        ("28P01", .authenticationFailed),
        ("28000", .authenticationFailed),
        ("57014", .timedOut),
        ("55P03", .timedOut),
        ("08006", .unavailable),
        ("08001", .unavailable),
        ("57P01", .unavailable),
        ("57P03", .unavailable),
        ("53300", .unavailable),
        ("25006", .unavailable),
        ("53100", .storageFull),
        ("22021", .invalidArgument),
        ("42P01", .internalFailure),
        ("XX000", .internalFailure),
        ("", .internalFailure),
    ])
    func sqlStatesMapToStableCodes(_ sqlState: String, _ code: ContextStoreError.Code) {
        let error = PostgresErrorMapping.serverError(sqlState: sqlState, operation: "consume")
        #expect(error.code == code)
        #expect(error.message.hasPrefix("consume: "))
    }

    @Test func cancellationPassesThrough() {
        #expect(PostgresErrorMapping.map(CancellationError(), operation: "get") is CancellationError)
    }

    @Test func storeErrorsPassThrough() {
        let original = ContextStoreError(.invalidArgument, "binding is empty")
        #expect(PostgresErrorMapping.map(original, operation: "put") as? ContextStoreError == original)
    }

    @Test func connectTimeoutIsTimedOut() {
        let error = PostgresErrorMapping.map(ChannelError.connectTimeout(.seconds(1)), operation: "get")
        #expect((error as? ContextStoreError)?.code == .timedOut)
    }

    @Test func unknownErrorsNameOnlyTheirType() {
        struct Secretive: Error, CustomStringConvertible { var description: String { "nonce=abc" } }
        let error = PostgresErrorMapping.map(Secretive(), operation: "put") as? ContextStoreError
        #expect(error?.code == .internalFailure)
        #expect(error?.message.contains("abc") == false)
    }
}
