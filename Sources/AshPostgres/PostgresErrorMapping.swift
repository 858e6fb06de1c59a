import AshStore
import PostgresNIO
import _ConnectionPoolModule

/// Turns postgres-nio's errors into ``ContextStoreError``s, in one place.
///
/// Messages name the operation, a SQLSTATE or a postgres-nio error code,
/// never a query parameter, a server message or a credential: server
/// messages can quote values (`invalid input syntax ...: "<value>"`), and
/// postgres-nio errors carry the query with its bindings.
/// `CancellationError` is passed through unchanged.
enum PostgresErrorMapping {
    /// The store error for `error`, raised while running `operation`.
    static func map(_ error: any Error, operation: String) -> any Error {
        switch error {
        case let error as ContextStoreError:
            return error
        case is CancellationError:
            return error
        case let error as PSQLError:
            return map(error, operation: operation)
        case let error as PostgresTransactionError:
            if let inner = error.beginError ?? error.closureError ?? error.commitError {
                return map(inner, operation: operation)
            }
            return ContextStoreError(.internalFailure, "\(operation): the transaction failed")
        case let error as ConnectionPoolError:
            return map(error, operation: operation)
        case is PostgresDecodingError:
            return ContextStoreError(.corruptData, "\(operation): a stored row has an unexpected column type")
        case let error as ChannelError:
            return map(error, operation: operation)
        default:
            return ContextStoreError(.internalFailure, "\(operation): unexpected \(type(of: error))")
        }
    }

    private static func map(_ error: ConnectionPoolError, operation: String) -> any Error {
        switch error {
        case .connectionCreationCircuitBreakerTripped:
            return ContextStoreError(.unavailable, "\(operation): PostgreSQL has been unreachable for a while")
        case .poolShutdown:
            return ContextStoreError(.shutDown, "\(operation): the PostgreSQL client is shut down")
        case .requestCancelled:
            return CancellationError()
        default:
            return ContextStoreError(.internalFailure, "\(operation): connection pool failure")
        }
    }

    private static func map(_ error: ChannelError, operation: String) -> any Error {
        if case .connectTimeout = error {
            return ContextStoreError(.timedOut, "\(operation): connecting to PostgreSQL timed out")
        }
        return ContextStoreError(.unavailable, "\(operation): the connection to PostgreSQL failed")
    }

    private static func map(_ error: PSQLError, operation: String) -> any Error {
        switch error.code {
        case .server:
            return serverError(sqlState: error.serverInfo?[.sqlState] ?? "", operation: operation)
        case .connectionError:
            if let underlying = error.underlying as? ChannelError {
                return map(underlying, operation: operation)
            }
            return ContextStoreError(.unavailable, "\(operation): cannot connect to PostgreSQL")
        case .serverClosedConnection, .uncleanShutdown:
            return ContextStoreError(.unavailable, "\(operation): PostgreSQL closed the connection")
        case .sslUnsupported:
            return ContextStoreError(
                .unavailable, "\(operation): PostgreSQL does not offer TLS, which sslmode requires")
        case .failedToAddSSLHandler, .receivedUnencryptedDataAfterSSLRequest:
            return ContextStoreError(.unavailable, "\(operation): the TLS handshake with PostgreSQL failed")
        case .unsupportedAuthMechanism, .authMechanismRequiresPassword, .saslError:
            return ContextStoreError(
                .authenticationFailed, "\(operation): PostgreSQL authentication failed (\(error.code))")
        case .messageDecodingFailure, .unexpectedBackendMessage, .invalidCommandTag:
            return ContextStoreError(
                .protocolViolation, "\(operation): unexpected message from PostgreSQL (\(error.code))")
        case .clientClosedConnection, .poolClosed:
            return ContextStoreError(.shutDown, "\(operation): the PostgreSQL client is shut down")
        case .queryCancelled:
            return CancellationError()
        default:
            return ContextStoreError(.internalFailure, "\(operation): PostgreSQL client error \(error.code)")
        }
    }

    /// Maps a server error by its SQLSTATE alone.
    static func serverError(sqlState: String, operation: String) -> ContextStoreError {
        let state = sqlState.isEmpty ? "without SQLSTATE" : "SQLSTATE \(sqlState)"
        switch sqlState {
        case "23505":
            return ContextStoreError(.duplicateContext, "\(operation): a context with this id exists")
        case "28000", "28P01":
            return ContextStoreError(
                .authenticationFailed, "\(operation): PostgreSQL rejected the credentials (\(state))")
        case "57014", "55P03":
            return ContextStoreError(
                .timedOut, "\(operation): PostgreSQL cancelled the statement on a timeout (\(state))")
        case "57P01", "57P02", "57P03", "53300", "25006":
            return ContextStoreError(.unavailable, "\(operation): PostgreSQL cannot serve now (\(state))")
        case "53100":
            return ContextStoreError(.storageFull, "\(operation): PostgreSQL's disk is full (\(state))")
        case "22021", "22P05":
            return ContextStoreError(
                .invalidArgument, "\(operation): a field has a character PostgreSQL cannot store (\(state))")
        case "22001":
            return ContextStoreError(.invalidArgument, "\(operation): a field is too long for its column (\(state))")
        case "42P01":
            return ContextStoreError(
                .internalFailure, "\(operation): the context table does not exist; run the migration (\(state))")
        case "42703", "42804":
            return ContextStoreError(
                .internalFailure, "\(operation): the context table does not have the expected columns (\(state))")
        case "42501":
            return ContextStoreError(
                .internalFailure, "\(operation): permission denied on the context table (\(state))")
        default:
            if sqlState.hasPrefix("08") {
                return ContextStoreError(.unavailable, "\(operation): connection failure (\(state))")
            }
            return ContextStoreError(.internalFailure, "\(operation): PostgreSQL error (\(state))")
        }
    }
}
