import AshCore
import AshStore

/// VERIFY (`V`): check a request's proof against a context and consume the
/// context, in one round trip.
///
/// Payload: optional `i64` now (absent: the server's clock), string
/// contextId (1 … 64 bytes), string expectedBinding (1 … 255 bytes), string
/// proof (0 … 255 bytes), long string canonicalPayload (`u32` byte count,
/// then UTF-8; the frame limit bounds it): the request body's canonical form.
///
/// The client canonicalizes the body; the server looks the context up and
/// runs the remaining checks in the protocol's order (expiry, binding,
/// proof, replay), then consumes.
package struct WireVerify: Sendable, Hashable {
    package var contextId: String
    /// `"METHOD /path"` of the route the request arrived on.
    package var expectedBinding: String
    /// The request's `x-ash-proof`; a proof longer than 255 bytes can never
    /// match, and is sent empty.
    package var proof: String
    /// `AshPayload.canonicalize`'s output for the request body.
    package var canonicalPayload: String
    /// The verification time in Unix ms; `nil` asks the server to use its
    /// clock (judged as CONSUME's `now` is).
    package var now: Int64?

    package init(contextId: String, expectedBinding: String, proof: String, canonicalPayload: String, now: Int64? = nil)
    {
        self.contextId = contextId
        self.expectedBinding = expectedBinding
        self.proof = proof
        self.canonicalPayload = canonicalPayload
        self.now = now
    }

    /// The value of the length field of the frame that carries this
    /// request: what a peer's ``WireLimits/maximumFrameLength`` bounds.
    package var frameLength: Int {
        WireProtocol.headerSize + 1 + (now == nil ? 0 : 8) + 2 + contextId.utf8.count + 2
            + expectedBinding.utf8.count + 2 + proof.utf8.count + 4 + canonicalPayload.utf8.count
    }

    init(payload: inout WireReader) throws(WireError) {
        now = try payload.readWireOptionalInt64("now")
        contextId = try payload.readWireString("contextId", bytes: WireProtocol.contextIdBytes)
        expectedBinding = try payload.readWireString("expectedBinding", bytes: WireProtocol.bindingBytes)
        proof = try payload.readWireString("proof", bytes: WireProtocol.proofBytes)
        canonicalPayload = try payload.readWireLongString("canonicalPayload")
    }

    func write(to buffer: inout WireWriter) throws(WireError) {
        buffer.writeWireOptionalInt64(now)
        try buffer.writeWireString(contextId, "contextId", bytes: WireProtocol.contextIdBytes)
        try buffer.writeWireString(expectedBinding, "expectedBinding", bytes: WireProtocol.bindingBytes)
        try buffer.writeWireString(proof, "proof", bytes: WireProtocol.proofBytes)
        try buffer.writeWireLongString(canonicalPayload, "canonicalPayload")
    }
}

/// VERIFY's answer: `u8` verdict, 0 verified (then the context as consumed,
/// in the format of GET's context) or 1 rejected (then a string, 1 … 64
/// bytes: the `ASH_*` code, such as `ASH_REPLAY_DETECTED`).
extension WireReader {
    mutating func readWireVerdict() throws(WireError) -> Result<AshContext, AshError> {
        switch try readWireInteger("verdict", as: UInt8.self) {
        case 0:
            return .success(try readWireContext())
        case 1:
            let name = try readWireString("code", bytes: WireProtocol.verdictCodeBytes)
            guard let code = AshError.Code(rawValue: name) else { throw .outOfRange("code") }
            return .failure(AshError(code))
        default:
            throw .outOfRange("verdict")
        }
    }
}

extension WireWriter {
    mutating func writeWireVerdict(_ verdict: Result<AshContext, AshError>) throws(WireError) {
        switch verdict {
        case .success(let context):
            writeInteger(UInt8(0))
            try writeWireContext(context)
        case .failure(let error):
            writeInteger(UInt8(1))
            try writeWireString(error.code.rawValue, "code", bytes: WireProtocol.verdictCodeBytes)
        }
    }
}
