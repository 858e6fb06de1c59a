import AshCore
import AshStore
import CoreMetrics

/// The metrics the HTTP layer records through swift-metrics, with the
/// deployment guide's names:
///
/// - `ash.verify.success`: requests verified (and their context consumed).
/// - `ash.verify.duration`: a timer around each verification, whatever its
///   outcome (the guide times successes only; refusals cost time too).
/// - `ash.verify.replay_detected`, `ash.verify.integrity_failed`: as in the
///   guide, these two are counted here only.
/// - `ash.verify.error.<code>`: every other refusal, `<code>` being the code
///   in lower case, as the guide's `error.code.toLowerCase()` makes it:
///   `ash.verify.error.ash_context_expired`, `…ash_invalid_context`,
///   `…ash_endpoint_mismatch`, …, and this package's
///   `…store_unavailable` and `…payload_too_large`. (The guide's alert table
///   says `ash.verify.error.context_expired`, a name its own code never
///   emits; alert on `ash_context_expired`.)
/// - `ash.store.duration{operation}`: the latency of every store call the
///   routes make (`verify`, `create`, `health`), on any store.
/// - `ash.context.issued`, `ash.context.rate_limited`: the issuance route.
///
/// Handles are made once, here, so recording costs no lookup.
public struct AshMetrics: Sendable {
    let success: Counter
    let duration: Timer
    let replayDetected: Counter
    let integrityFailed: Counter
    let errors: [String: Counter]
    let storeVerify: Timer
    let storeCreate: Timer
    let storeHealth: Timer
    let issued: Counter
    let rateLimited: Counter

    /// Makes the handles on the bootstrapped `MetricsSystem` (or `factory`).
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        success = Counter(label: "ash.verify.success", factory: factory)
        duration = Timer(label: "ash.verify.duration", factory: factory)
        replayDetected = Counter(label: "ash.verify.replay_detected", factory: factory)
        integrityFailed = Counter(label: "ash.verify.integrity_failed", factory: factory)
        var errors: [String: Counter] = [:]
        let codes =
            AshError.Code.allCases.filter { $0 != .replayDetected && $0 != .integrityFailed }.map(\.rawValue)
            + [AshHTTPError.storeUnavailable.code, AshHTTPError.payloadTooLarge.code]
        for code in codes {
            errors[code] = Counter(label: "ash.verify.error.\(code.lowercased())", factory: factory)
        }
        self.errors = errors
        storeVerify = Timer(label: "ash.store.duration", dimensions: [("operation", "verify")], factory: factory)
        storeCreate = Timer(label: "ash.store.duration", dimensions: [("operation", "create")], factory: factory)
        storeHealth = Timer(label: "ash.store.duration", dimensions: [("operation", "health")], factory: factory)
        issued = Counter(label: "ash.context.issued", factory: factory)
        rateLimited = Counter(label: "ash.context.rate_limited", factory: factory)
    }

    /// Counts one refusal of a verification under its metric.
    func countRefusal(_ error: AshHTTPError) {
        switch error.code {
        case AshError.Code.replayDetected.rawValue: replayDetected.increment()
        case AshError.Code.integrityFailed.rawValue: integrityFailed.increment()
        default: errors[error.code]?.increment()
        }
    }
}

extension Timer {
    /// Records the time since `start`.
    func recordSince(_ start: ContinuousClock.Instant) {
        recordNanoseconds((ContinuousClock.now - start).wholeNanoseconds)
    }
}
