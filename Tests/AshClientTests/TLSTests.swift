import AshClient
import AshCore
import AshDaemon
import AshStore
import Foundation
import NIOSSL
import Testing

/// TLS with a certificate generated at test time by `openssl`.
@Suite struct TLSTests {
    static func makeCertificate(in directory: URL) throws -> (certificate: String, key: String) {
        let certificate = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-keyout", key, "-out", certificate, "-days", "1", "-nodes", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CocoaError(.fileWriteUnknown)
        }
        return (certificate, key)
    }

    @Test func roundTripOverTLS() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ashd-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let files = try Self.makeCertificate(in: directory)
        let live = try await LiveServer.start {
            $0.tls = TLSFiles(certificatePath: files.certificate, privateKeyPath: files.key)
            $0.authToken = Array("tls-token".utf8)
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(files.certificate))
        let client = try live.client {
            $0.tls = tls
            $0.tlsServerName = "localhost"
            $0.authToken = Array("tls-token".utf8)
        }
        let info = try await client.createContext(binding: "POST /tls", ttlMilliseconds: 30_000)
        #expect(try await client.consume(info.contextId, now: info.expiresAt - 1) == .consumed)
        #expect(try await client.get(info.contextId)?.consumedAt != nil)

        // A plain-TCP client cannot talk to the TLS listener.
        let plain = try live.client { $0.authToken = Array("tls-token".utf8) }
        await #expect(throws: (any Error).self) { try await plain.ping() }
        await plain.close()
        await client.close()
        await live.stop()
    }
}
