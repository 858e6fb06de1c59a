import AshCore
import AshHTTP
import AshHummingbird
import AshSettings
import AshStore
import Hummingbird
import Logging
import Metrics
import NIOCore
import Prometheus

/// The example application, the counterpart of the JavaScript SDK's Express
/// demo: a page to try it from a browser, the issuance route, a protected
/// `POST /api/transfer`, `/health` and Prometheus `/metrics`.
package enum DemoApplication {
    /// The protected route's binding.
    package static let transferBinding = "POST /api/transfer"

    /// The application on `store` (which it runs, before its server).
    ///
    /// - Parameters:
    ///   - protected: `false` serves the transfer route with no verification
    ///     (the benchmark's baseline); never in production.
    package static func make(
        settings: AshSettings,
        store: ConfiguredStore,
        address: BindAddress,
        protected: Bool = true,
        logger: Logger,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Prometheus names cannot hold dots: ash.verify.success is exported
        // as ash_verify_success.
        factory.nameAndLabelSanitizer = { name, labels in
            (name.replacingDots(), labels.map { ($0.0.replacingDots(), $0.1) })
        }
        let metrics = AshMetrics(factory: factory)
        var issuance = settings.issuanceOptions(rateLimiter: try store.rateLimiter(for: settings))
        if issuance.allowedBindings == nil { issuance.allowedBindings = [transferBinding] }
        let issuer = AshIssuer(store: store, options: issuance, metrics: metrics, logger: logger)

        let router = Router(context: BasicAshRequestContext.self)
        router.get("/") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: DemoPage.html)))
        }
        router.addAshIssuance(issuer: issuer)
        router.addAshHealth(store: store, metrics: metrics)
        router.get("/metrics") { _, _ in
            var text: [UInt8] = []
            registry.emit(into: &text)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: text)))
        }
        let api = router.group("api")
        if protected {
            api.add(
                middleware: AshVerificationMiddleware(
                    store: store, options: VerificationOptions(binding: .fixed(transferBinding)), metrics: metrics,
                    logger: logger))
        }
        api.post("transfer") { request, context -> Response in
            var request = request
            let body = try await request.collectBody(upTo: VerificationOptions.defaultBodyLimit)
            return Response(TransferReceipt.answer(body: Array(body.readableBytesView), context: context.ash))
        }
        return Application(
            router: router,
            configuration: ApplicationConfiguration(address: address, serverName: "ash-demo"),
            services: [store],
            onServerRunning: onServerRunning,
            logger: logger)
    }
}

extension String {
    fileprivate func replacingDots() -> String {
        String(map { $0 == "." ? "_" : $0 })
    }
}
