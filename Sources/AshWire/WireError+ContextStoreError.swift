import AshStore

extension WireError.Code {
    /// `STORE_INVALID_ARGUMENT`.
    package static let storeInvalidArgument = WireError.Code(rawValue: 101)
    /// `STORE_DUPLICATE_CONTEXT`.
    package static let storeDuplicateContext = WireError.Code(rawValue: 102)
    /// `STORE_CAPACITY_EXCEEDED`.
    package static let storeCapacityExceeded = WireError.Code(rawValue: 103)
    /// `STORE_UNAVAILABLE`.
    package static let storeUnavailable = WireError.Code(rawValue: 104)
    /// `STORE_TIMED_OUT`.
    package static let storeTimedOut = WireError.Code(rawValue: 105)
    /// `STORE_STORAGE_FULL`.
    package static let storeStorageFull = WireError.Code(rawValue: 106)
    /// `STORE_CORRUPT_DATA`.
    package static let storeCorruptData = WireError.Code(rawValue: 107)
    /// `STORE_AUTHENTICATION_FAILED`.
    package static let storeAuthenticationFailed = WireError.Code(rawValue: 108)
    /// `STORE_PROTOCOL_VIOLATION`.
    package static let storeProtocolViolation = WireError.Code(rawValue: 109)
    /// `STORE_SHUT_DOWN`.
    package static let storeShutDown = WireError.Code(rawValue: 110)
    /// `STORE_INTERNAL_FAILURE`.
    package static let storeInternalFailure = WireError.Code(rawValue: 111)

    /// The store's codes and theirs on the wire, 101–111.
    static let storeCodes: [(store: ContextStoreError.Code, wire: WireError.Code)] = [
        (.invalidArgument, .storeInvalidArgument),
        (.duplicateContext, .storeDuplicateContext),
        (.capacityExceeded, .storeCapacityExceeded),
        (.unavailable, .storeUnavailable),
        (.timedOut, .storeTimedOut),
        (.storageFull, .storeStorageFull),
        (.corruptData, .storeCorruptData),
        (.authenticationFailed, .storeAuthenticationFailed),
        (.protocolViolation, .storeProtocolViolation),
        (.shutDown, .storeShutDown),
        (.internalFailure, .storeInternalFailure),
    ]

    /// The wire code of a store failure.
    package init(_ storeCode: ContextStoreError.Code) {
        self = Self.storeCodes.first { $0.store == storeCode }?.wire ?? .storeInternalFailure
    }
}

extension WireError {
    /// A store failure as an error reply: same code name, same message.
    package init(_ error: ContextStoreError) {
        self.init(Code(error.code), error.message)
    }

    /// What a client that is a `ContextStore` throws for this error reply.
    ///
    /// Store codes map back to themselves. Field and encoding errors mean the
    /// request itself was invalid (`STORE_INVALID_ARGUMENT`); authentication
    /// errors become `STORE_AUTHENTICATION_FAILED`; too many in flight,
    /// timeouts, the server's buffer limit and shutdown become
    /// `STORE_UNAVAILABLE` (another connection may succeed); everything
    /// else, unknown codes included, is
    /// `STORE_PROTOCOL_VIOLATION`.
    package var contextStoreError: ContextStoreError {
        if let pair = Code.storeCodes.first(where: { $0.wire == code }) {
            return ContextStoreError(pair.store, message)
        }
        let storeCode: ContextStoreError.Code =
            switch code {
            case .fieldOutOfRange, .invalidUTF8: .invalidArgument
            case .notAuthenticated, .authenticationFailed: .authenticationFailed
            case .tooManyInFlight, .handshakeTimeout, .idleTimeout, .shuttingDown, .bufferLimit, .frameTimeout:
                .unavailable
            default: .protocolViolation
            }
        return ContextStoreError(storeCode, "\(code.name): \(message)")
    }
}
