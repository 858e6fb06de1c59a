import AshStore
import Logging

/// A framework's verification middleware: everything it decides is its
/// ``AshVerifier``'s, so each framework gets the same answers. Conforming
/// gives it the convenience initializer from a store.
public protocol AshVerifying {
    init(verifier: AshVerifier)
}

extension AshVerifying {
    /// The middleware with an ``AshVerifier`` on `store`.
    public init(
        store: any ContextStore,
        options: VerificationOptions = VerificationOptions(),
        metrics: AshMetrics = AshMetrics(),
        logger: Logger = Logger(label: "ash.http")
    ) {
        self.init(verifier: AshVerifier(store: store, options: options, metrics: metrics, logger: logger))
    }
}
