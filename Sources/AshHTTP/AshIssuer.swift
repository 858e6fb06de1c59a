import AshCore
import AshStore
import CoreMetrics
import HTTPTypes
import Logging

/// Issues contexts over HTTP: the deployment guide's `POST /ash/context`,
/// framework-neutral.
///
/// In order: the rate limit (429 `RATE_LIMITED` with `Retry-After` and
/// `X-RateLimit-Limit`/`-Remaining`, as `express-rate-limit` sends them);
/// the body `{"binding":"METHOD /path"}` (400 `INVALID_REQUEST` "Binding
/// required" when it is not a non-empty string, "Binding not allowed" when
/// outside ``IssuanceOptions/allowedBindings``, "Invalid binding" when the
/// store would refuse it); then the store, 200 with the context's public
/// info — `{"contextId","expiresAt","mode","nonce"?}` — or 500
/// `INTERNAL_ERROR` "Failed to create context" (the cause is logged, never
/// sent). A limiter that fails refuses too (500).
public struct AshIssuer: Sendable {
    public let store: any ContextStore
    public let options: IssuanceOptions
    let metrics: AshMetrics
    let logger: Logger

    public init(
        store: any ContextStore,
        options: IssuanceOptions = IssuanceOptions(),
        metrics: AshMetrics = AshMetrics(),
        logger: Logger = Logger(label: "ash.http")
    ) {
        self.store = store
        self.options = options
        self.metrics = metrics
        self.logger = logger
    }

    /// Counts the request against `clientKey`'s limit; `nil` when it may
    /// proceed, else the answer. Call before reading the body.
    public func admit(clientKey: String) async -> AshHTTPResponse? {
        guard let limiter = options.rateLimiter else { return nil }
        let decision: RateLimitDecision
        do {
            decision = try await limiter.acquire(clientKey, now: store.clock.nowMilliseconds())
        } catch {
            let failure = ContextStoreError(error)
            logger.error(
                "Rate limiter failed; issuance refused",
                metadata: ["code": "\(failure.code)", "reason": "\(failure.message)"])
            return AshHTTPError.issuanceFailed.response
        }
        guard !decision.isAllowed else { return nil }
        metrics.rateLimited.increment()
        var response = AshHTTPError.rateLimited.response
        response.headerFields[.retryAfter] = String(decision.retryAfterSeconds)
        response.headerFields[Self.limitHeader] = String(decision.limit)
        response.headerFields[Self.remainingHeader] = String(decision.remaining)
        return response
    }

    /// Issues a context for the binding in `body`, or answers why not.
    public func issue(body: [UInt8]) async -> AshHTTPResponse {
        guard body.count <= options.bodyLimit else { return AshHTTPError.payloadTooLarge.response }
        let binding: String
        if let fixed = options.fixedBinding {
            binding = fixed
        } else {
            guard let requested = Self.binding(in: body), !requested.isEmpty else {
                return AshHTTPError.invalidRequest("Binding required").response
            }
            binding = requested
        }
        if let allowed = options.allowedBindings, !allowed.contains(binding) {
            return AshHTTPError.invalidRequest("Binding not allowed").response
        }
        do {
            try ContextLimits.validateBinding(binding)
        } catch {
            return AshHTTPError.invalidRequest("Invalid binding").response
        }
        // A TTL out of the store's range is the server's configuration, not
        // the client's request: the store refuses it below (500, logged).
        let request = CreateRequest(
            binding: binding, ttlMilliseconds: options.ttlMilliseconds, mode: options.mode,
            issueNonce: options.issueNonce)
        let start = ContinuousClock.now
        do {
            let issued = try await store.create(request)
            metrics.storeCreate.recordSince(start)
            metrics.issued.increment()
            return AshHTTPResponse(status: .ok, json: Self.json(issued))
        } catch {
            metrics.storeCreate.recordSince(start)
            let failure = ContextStoreError(error)
            logger.error(
                "Context creation failed", metadata: ["code": "\(failure.code)", "reason": "\(failure.message)"])
            return AshHTTPError.issuanceFailed.response
        }
    }

    /// The `binding` member of a JSON object body, if it is a string.
    static func binding(in body: [UInt8]) -> String? {
        guard let text = UTF16Texts.decodeUTF8(body), let value = try? JSONParser.parse(text),
            let binding = value["binding"]?.stringValue, UTF16Texts.isWellFormed(binding)
        else { return nil }
        return UTF16Texts.string(binding)
    }

    /// What Express's `res.json(context)` writes for the issued context.
    static func json(_ issued: AshContextPublicInfo) -> String {
        var json = JSONText()
        json.object { json in
            json.member("contextId", string: issued.contextId)
            json.member("expiresAt", integer: issued.expiresAt)
            json.member("mode", string: issued.mode.rawValue)
            if let nonce = issued.nonce { json.member("nonce", string: nonce) }
        }
        return json.text
    }

    static let limitHeader = HTTPField.Name("X-RateLimit-Limit")!
    static let remainingHeader = HTTPField.Name("X-RateLimit-Remaining")!
}
