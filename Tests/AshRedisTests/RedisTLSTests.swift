import AshCore
import AshRedis
import AshStore
import Foundation
import NIOSSL
import Testing

/// `rediss://` against a redis-server of the test's own with a fresh
/// self-signed certificate for `localhost`.
@Suite(.enabled(if: RedisTestServer.isEnabled, RedisTestServer.disabledReason))
struct RedisTLSTests {
    struct OpenSSLFailed: Error, CustomStringConvertible {
        let status: Int32
        var description: String { "openssl req exited with \(status)" }
    }

    /// Writes `cert.pem` and `key.pem` into `directory`.
    func makeCertificate(in directory: URL) throws -> (certificate: String, key: String) {
        let certificate = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        openssl.arguments = [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key, "-out", certificate, "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ]
        openssl.standardOutput = FileHandle.nullDevice
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        guard openssl.terminationStatus == 0 else { throw OpenSSLFailed(status: openssl.terminationStatus) }
        return (certificate, key)
    }

    @Test func storeWorksOverTLSAndAnUntrustedCertificateIsAClearError() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ash-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let files = try makeCertificate(in: directory)
        let server = try RedisServerProcess(tls: files)
        try server.start()

        var configuration = try RedisConfiguration(url: "rediss://localhost:\(server.port)")
        configuration.tls?.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(files.certificate))
        let store = try RedisTestServer.makeStore(configuration: configuration)
        _ = try await RedisServerProcess.poll("the TLS server answers PING") {
            try await store.send(RESPCommand("PING"))
        }
        let now = SystemWallClock().nowMilliseconds()
        let context = AshContext(
            contextId: AshIdentifier.generate(), binding: "POST /tls", mode: .strict, issuedAt: now,
            expiresAt: now + 10_000, nonce: AshIdentifier.generate())
        try await store.put(context)
        #expect(try await store.get(context.contextId) == context)
        #expect(try await store.consume(context.contextId, now: now) == .consumed)

        // The system's trust roots do not know the self-signed certificate.
        let untrusted = try RedisTestServer.makeStore(
            configuration: RedisConfiguration(url: "rediss://localhost:\(server.port)"))
        let error = await #expect(throws: ContextStoreError.self) { _ = try await untrusted.get(context.contextId) }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("TLS") == true, "\(String(describing: error))")

        // Plain TCP to a TLS port fails instead of hanging.
        var plain = configuration
        plain.tls = nil
        plain.commandTimeout = .seconds(2)
        let cleartext = try RedisTestServer.makeStore(configuration: plain)
        let plainError = await #expect(throws: ContextStoreError.self) {
            _ = try await cleartext.get(context.contextId)
        }
        #expect(plainError?.code == .unavailable || plainError?.code == .timedOut)

        for store in [store, untrusted, cleartext] { await store.shutdown() }
        server.stop()
    }
}
