import AshStore
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import Vapor

/// Runs a store (any swift-service-lifecycle `Service`, such as
/// `ConfiguredStore` or `ContextEngine`) for the lifetime of a Vapor
/// application: its `run()` starts when the application boots and is
/// cancelled, and awaited, when it shuts down.
///
/// ```swift
/// app.lifecycle.use(AshStoreLifecycle(store))
/// ```
///
/// Vapor has no structured way to run a service beside its server, so this
/// is the one place a task is started outside a `run()`: at boot, never in
/// an initializer. The application must use Vapor's async entry points
/// (`Application.make`, `execute()`), which call the async hooks.
public final class AshStoreLifecycle: LifecycleHandler {
    private let service: any Service
    private let logger: Logger
    private let running = NIOLockedValueBox<Task<Void, Never>?>(nil)

    public init(_ service: any Service, logger: Logger = Logger(label: "ash.store")) {
        self.service = service
        self.logger = logger
    }

    public func willBootAsync(_ application: Application) async throws {
        let service = service
        let logger = logger
        running.withLockedValue { task in
            task = Task {
                do {
                    try await service.run()
                } catch {
                    let failure = ContextStoreError(error)
                    logger.error(
                        "The context store stopped with an error",
                        metadata: ["code": "\(failure.code)", "reason": "\(failure.message)"])
                }
            }
        }
    }

    public func shutdownAsync(_ application: Application) async {
        guard
            let task = running.withLockedValue({ task in
                defer { task = nil }
                return task
            })
        else { return }
        task.cancel()
        await task.value
    }

    public func willBoot(_ application: Application) throws {}
    public func shutdown(_ application: Application) {}
}
