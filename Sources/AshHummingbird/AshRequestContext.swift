import AshCore
import Hummingbird
import NIOCore

/// A request context that carries the context a protected request consumed,
/// so the handler can read it (`context.ash`).
public protocol AshRequestContext: RequestContext {
    /// The consumed context, set by ``AshVerificationMiddleware`` before the
    /// handler runs; `nil` on unprotected routes.
    var ash: AshContext? { get set }
}

/// The request context to use when the application needs no other: it
/// carries the consumed context and the client's address (the issuance
/// route's rate-limit key).
public struct BasicAshRequestContext: AshRequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public var ash: AshContext?
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.ash = nil
        self.remoteAddress = source.channel.remoteAddress
    }
}
