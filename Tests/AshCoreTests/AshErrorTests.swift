import AshCore
import Testing

@Suite struct AshErrorTests {
    @Test func codesStatusesAndMessagesMatchTheProtocolTable() {
        let table: [(String, Int, String)] = [
            ("ASH_INVALID_CONTEXT", 400, "Context not found. Request a new context."),
            ("ASH_CONTEXT_EXPIRED", 410, "Context expired. Request a new context."),
            ("ASH_REPLAY_DETECTED", 409, "Request already processed. Use a new context."),
            ("ASH_INTEGRITY_FAILED", 400, "Payload integrity check failed."),
            ("ASH_ENDPOINT_MISMATCH", 400, "Request sent to wrong endpoint."),
            ("ASH_MODE_VIOLATION", 400, "Security mode requirements not met."),
            ("ASH_UNSUPPORTED_CONTENT_TYPE", 400, "Content type not supported."),
            ("ASH_MALFORMED_REQUEST", 400, "Request format is invalid."),
            ("ASH_CANONICALIZATION_FAILED", 400, "Failed to canonicalize payload."),
        ]
        #expect(AshError.Code.allCases.count == table.count)
        for (code, (name, status, message)) in zip(AshError.Code.allCases, table) {
            #expect(code.rawValue == name)
            #expect(code.httpStatus == status)
            #expect(code.message == message)
            #expect(AshError.Code(rawValue: name) == code)
        }
        #expect(
            AshError(.replayDetected).responseBody
                == #"{"error":{"code":"ASH_REPLAY_DETECTED","message":"Request already processed. Use a new context."}}"#
        )
    }
}
