import ArgumentParser
import AshDemo
import AshSettings
import Foundation
import Hummingbird
import Logging

/// `ash-demo`: the example application. Settings come from the environment
/// (`ASH_STORE`, `ASH_DEFAULT_TTL_MS`, `ASH_ENABLE_NONCE`, …; see
/// `AshSettings`); without a store setting it uses the embedded engine on
/// LMDB in `./ash-demo-data`.
@main
struct AshDemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ash-demo",
        abstract: "The ASH example application: a page, issuance, a protected transfer, /health, /metrics.")

    @Option(help: "The address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "The port to listen on.")
    var port = 8080

    @Flag(help: "Serve the transfer route without verification (a benchmark's baseline only).")
    var unprotected = false

    func run() async throws {
        var logger = Logger(label: "ash-demo")
        logger.logLevel = .info
        let settings: AshSettings
        do {
            settings = try AshSettings(
                environment: ProcessInfo.processInfo.environment, defaultStore: .engine(directory: "./ash-demo-data"))
        } catch {
            throw ValidationError("\(error)")
        }
        let store = try await ConfiguredStore.open(settings.store, createsTables: true, logger: logger)
        logger.info("Store: \(store.location.kind); http://\(host):\(port)/")
        let application = try DemoApplication.make(
            settings: settings, store: store, address: .hostname(host, port: port), protected: !unprotected,
            logger: logger)
        try await application.runService()
    }
}
