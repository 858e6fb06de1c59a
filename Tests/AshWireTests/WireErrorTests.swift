import AshStore
import AshWire
import Testing

@Suite("Error codes")
struct WireErrorTests {
    @Test("the code table is stable")
    func table() {
        let table = WireError.Code.allKnown.map { "\($0.rawValue) \($0.name)" }
        #expect(
            table == [
                "1 WIRE_MALFORMED_FRAME", "2 WIRE_FRAME_TOO_LARGE", "3 WIRE_UNKNOWN_COMMAND",
                "4 WIRE_MALFORMED_PAYLOAD",
                "5 WIRE_INVALID_UTF8", "6 WIRE_FIELD_OUT_OF_RANGE", "7 WIRE_NOT_AUTHENTICATED",
                "8 WIRE_AUTHENTICATION_FAILED", "9 WIRE_UNSUPPORTED_VERSION", "10 WIRE_PROTOCOL_VIOLATION",
                "11 WIRE_TOO_MANY_IN_FLIGHT", "12 WIRE_HANDSHAKE_TIMEOUT", "13 WIRE_IDLE_TIMEOUT",
                "14 WIRE_SHUTTING_DOWN",
                "15 WIRE_BUFFER_LIMIT", "16 WIRE_FRAME_TIMEOUT",
                "101 STORE_INVALID_ARGUMENT", "102 STORE_DUPLICATE_CONTEXT", "103 STORE_CAPACITY_EXCEEDED",
                "104 STORE_UNAVAILABLE", "105 STORE_TIMED_OUT", "106 STORE_STORAGE_FULL", "107 STORE_CORRUPT_DATA",
                "108 STORE_AUTHENTICATION_FAILED", "109 STORE_PROTOCOL_VIOLATION", "110 STORE_SHUT_DOWN",
                "111 STORE_INTERNAL_FAILURE",
            ]
        )
        #expect(WireError.Code(rawValue: 4242).name == "UNKNOWN_4242")
    }

    @Test("every store code has a wire code and maps back", arguments: ContextStoreError.Code.allCases)
    func storeCodes(code: ContextStoreError.Code) {
        let error = WireError(ContextStoreError(code, "why"))
        #expect(error.code.name == code.rawValue)
        #expect(error.message == "why")
        #expect(error.contextStoreError == ContextStoreError(code, "why"))
    }

    @Test("protocol codes map to the store codes a client throws")
    func protocolCodes() {
        #expect(WireError(.fieldOutOfRange, "x").contextStoreError.code == .invalidArgument)
        #expect(WireError(.invalidUTF8, "x").contextStoreError.code == .invalidArgument)
        #expect(WireError(.authenticationFailed, "x").contextStoreError.code == .authenticationFailed)
        #expect(WireError(.tooManyInFlight, "x").contextStoreError.code == .unavailable)
        #expect(WireError(.shuttingDown, "x").contextStoreError.code == .unavailable)
        #expect(WireError(.bufferLimit, "x").contextStoreError.code == .unavailable)
        #expect(WireError(.frameTimeout, "x").contextStoreError.code == .unavailable)
        #expect(WireError(.malformedFrame, "x").contextStoreError.code == .protocolViolation)
        #expect(WireError(WireError.Code(rawValue: 777), "x").contextStoreError.code == .protocolViolation)
        #expect(WireError(.frameTooLarge, "big").contextStoreError.message == "WIRE_FRAME_TOO_LARGE: big")
    }
}
