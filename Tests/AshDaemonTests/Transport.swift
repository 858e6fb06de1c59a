import NIOCore
import NIOPosix
import Testing

@testable import AshDaemon

/// The loops ashd serves on: its own epoll loops (plain TCP, the default)
/// or SwiftNIO's (TLS). Tests of the request path run on both.
enum Transport: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case epoll
    case nio

    var testDescription: String { rawValue }

    /// The process's shared group of this kind.
    var sharedGroup: any EventLoopGroup {
        switch self {
        case .epoll: EpollEventLoopGroup.singleton
        case .nio: MultiThreadedEventLoopGroup.singleton
        }
    }

    /// A group of `threads` loops of this kind, shut down after `body`.
    func withGroup<T>(threads: Int, _ body: (any EventLoopGroup) async throws -> T) async throws -> T {
        let group: any EventLoopGroup =
            switch self {
            case .epoll: try EpollEventLoopGroup(numberOfThreads: threads)
            case .nio: MultiThreadedEventLoopGroup(numberOfThreads: threads)
            }
        do {
            let result = try await body(group)
            try await group.shutdownGracefully()
            return result
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }
}
