import AshCore
import Vapor

extension Request {
    /// The context this request consumed, set by ``AshVerificationMiddleware``
    /// before the route runs; `nil` on unprotected routes.
    public var ash: AshContext? {
        get { storage[AshContextKey.self] }
        set { storage[AshContextKey.self] = newValue }
    }
}

private struct AshContextKey: StorageKey {
    typealias Value = AshContext
}
