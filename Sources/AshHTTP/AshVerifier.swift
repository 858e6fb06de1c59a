import AshCore
import AshStore
import CoreMetrics
import HTTPTypes
import Logging

/// Verifies requests to a protected route and consumes their contexts: the
/// framework-neutral core of the Hummingbird and Vapor middleware.
///
/// The framework collects the body (at most ``VerificationOptions/bodyLimit``
/// bytes; ``check(contentLength:)`` refuses a larger declared length before
/// reading) and calls ``verify(_:body:clientAddress:)``. A refusal carries the
/// JavaScript SDK's status and body; a store failure is 503
/// `STORE_UNAVAILABLE` — the request is refused, never let through.
///
/// ## Bodies, as the reference reads them
///
/// The reference middleware canonicalizes what Express's body parsers made
/// of the body. This one canonicalizes the raw bytes with the same rules,
/// with these consequences, each tested:
/// - An empty body read as JSON is `{}` (Express's `json()` gives `{}`).
/// - A body that is not JSON on a JSON route is `ASH_CANONICALIZATION_FAILED`
///   (400). Express's `json()` skips a body whose `content-type` is not
///   JSON and the reference then proves `{}`, so the body went unprotected;
///   here the bytes sent are always the bytes proven.
/// - A form body with a malformed `%` escape is
///   `ASH_CANONICALIZATION_FAILED` (400), as the protocol specifies
///   (Express's `urlencoded()` keeps such text undecoded).
///
/// Metrics (``AshMetrics``) and logs: a replay and an integrity failure are
/// logged as warnings with the binding and client address only — never the
/// context id, proof or body.
public struct AshVerifier: Sendable {
    public let store: any ContextStore
    public let options: VerificationOptions
    let metrics: AshMetrics
    let logger: Logger

    public init(
        store: any ContextStore,
        options: VerificationOptions = VerificationOptions(),
        metrics: AshMetrics = AshMetrics(),
        logger: Logger = Logger(label: "ash.http")
    ) {
        self.store = store
        self.options = options
        self.metrics = metrics
        self.logger = logger
    }

    /// Refuses a declared body length over the limit before it is read.
    public func check(contentLength: Int?) -> AshHTTPError? {
        guard let contentLength, contentLength > options.bodyLimit else { return nil }
        return refuse(.payloadTooLarge)
    }

    /// The refusal for a body found to be over the limit while reading it.
    public func bodyTooLarge() -> AshHTTPError { refuse(.payloadTooLarge) }

    /// Verifies `request` with its collected `body` and consumes its context.
    ///
    /// - Parameters:
    ///   - clientAddress: for the warning logs only; evaluated only when
    ///     one is written.
    /// - Returns: the context as consumed, or the refusal to answer with.
    public func verify(
        _ request: HTTPRequest, body: [UInt8], clientAddress: @autoclosure () -> String? = nil
    ) async -> Result<AshContext, AshHTTPError> {
        let start = ContinuousClock.now
        defer { metrics.duration.recordSince(start) }
        guard body.count <= options.bodyLimit else { return .failure(refuse(.payloadTooLarge)) }
        let expectedBinding = options.expectedBinding(for: request)
        let contentType: String? =
            switch options.contentType {
            case .fixed(let type): type
            case .fromHeader: request.headerFields[.contentType]
            }
        let verification = AshVerificationRequest(
            contextId: request.headerFields[options.contextIdHeader],
            proof: request.headerFields[options.proofHeader],
            contentType: contentType,
            body: AshPayload.bodyAsRead(body, contentType: contentType))
        let storeStart = ContinuousClock.now
        do {
            let context = try await store.verify(
                verification, expectedBinding: expectedBinding, now: store.clock.nowMilliseconds())
            metrics.storeVerify.recordSince(storeStart)
            metrics.success.increment()
            return .success(context)
        } catch let error as AshError {
            metrics.storeVerify.recordSince(storeStart)
            switch error.code {
            case .replayDetected:
                logger.warning(
                    "Replay attack detected",
                    metadata: ["binding": "\(expectedBinding)", "client": "\(clientAddress() ?? "-")"])
            case .integrityFailed:
                logger.warning(
                    "Integrity check failed",
                    metadata: ["binding": "\(expectedBinding)", "client": "\(clientAddress() ?? "-")"])
            default:
                break
            }
            return .failure(refuse(AshHTTPError(error)))
        } catch {
            metrics.storeVerify.recordSince(storeStart)
            let failure = ContextStoreError(error)
            logger.error(
                "Context store failed during verification; request refused",
                metadata: ["code": "\(failure.code)", "reason": "\(failure.message)", "binding": "\(expectedBinding)"])
            return .failure(refuse(.storeUnavailable))
        }
    }

    private func refuse(_ error: AshHTTPError) -> AshHTTPError {
        metrics.countRefusal(error)
        return error
    }
}
