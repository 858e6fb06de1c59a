import AshCore
import AshStore
import AshWire
import NIOCore

/// Fuzz target 1: the ashd frame parser and the server session state
/// machine, driven as `ServerConnectionHandler` drives them, with a stub
/// store that answers every request when told to.
///
/// Input layout:
///
/// | bytes | meaning |
/// |---|---|
/// | 1 | configuration: bits 0–2 in-flight limit − 1; bit 3 an auth token is required; bit 4 the server speaks versions 2…3 only; bits 5–6 the batch limit (1, 2, 16, 1,024); bit 7 a valid HELLO is sent first |
/// | 1 | *k*, the number of event bytes |
/// | *k* | events, in order (below) |
/// | rest | the byte stream the client sends |
///
/// An event byte with bit 7 clear is a read: the next 1–32 bytes of the
/// stream, or a multiple of 32 up to 3,072 (``readSize(_:)``), arrive, then
/// the read completes. With bit 7 set, bits 0–3 pick another event: answer
/// the running batch, reverse the order of answers, writability off or on,
/// idle timeout, handshake timeout, shutdown, the peer closing, a read
/// without completion, or the whole rest. After the events, what is left of the
/// stream arrives in one read; then every batch is answered and the
/// connection shuts down (``ServerConnectionModel/finish(answering:)``).
package func fuzzWireSession(_ data: UnsafeRawBufferPointer) {
    var input = FuzzInput(data)
    let configuration = input.byte()
    let events = input.bytes(Int(input.byte()))
    var stream = Array(input.rest())

    let token: [UInt8] = Array("fuzz-token".utf8)
    let session = ServerSessionStateMachine.Configuration(
        authToken: configuration & 0x08 != 0 ? token : nil,
        supportedVersions: configuration & 0x10 != 0 ? 2...3 : WireProtocol.supportedVersions,
        limits: WireLimits(
            maximumFrameLength: WireLimits.minimumFrameLength,
            maximumBatchEntries: [1, 2, 16, 1_024][Int(configuration >> 5 & 0x3)]
        ),
        maximumInFlight: Int(configuration & 0x7) + 1,
        serverName: "ashd-fuzz"
    )
    if configuration & 0x80 != 0 {
        var encoder = WireEncoder()
        try! encoder.encode(.hello(WireHello(token: configuration & 0x08 != 0 ? token : [])), requestId: 1)
        stream = Array(encoder.flush().readableBytesView) + stream
    }

    var model = ServerConnectionModel(configuration: session, stream: stream[...])
    var position = 0
    var reversed = false
    func read(_ count: Int, complete: Bool = true) {
        guard model.canDeliverRead else { return }
        let end = min(stream.count, position + count)
        model.channelRead(stream[position..<end])
        position = end
        if complete { _ = model.channelReadComplete() }
    }
    for event in events {
        if event & 0x80 == 0 {
            read(readSize(event))
            continue
        }
        switch event & 0x0F {
        case 0, 1, 2: answerRunningBatch(&model, reversed: false)
        case 3: answerRunningBatch(&model, reversed: true)
        case 4: model.channelWritabilityChanged(isWritable: false)
        case 5, 6: model.channelWritabilityChanged(isWritable: true)
        case 7: model.idleTimedOut()
        case 8: model.handshakeTimedOut()
        case 9: model.shutdownRequested()
        case 10: model.channelInactive()
        case 11: reversed.toggle()
        case 12: read(readSize(event & 0x3F), complete: false)  // two reads, one completion
        default: read(stream.count)
        }
    }
    // The rest arrives; if reads are held, answering frees them.
    while position < stream.count, model.isOpen {
        if !model.canDeliverRead {
            model.channelWritabilityChanged(isWritable: true)
            if !model.canDeliverRead, !model.batches.isEmpty { answerRunningBatch(&model, reversed: reversed) }
            if !model.canDeliverRead { break }
        }
        read(stream.count)
    }
    model.finish { model, _ in answerRunningBatch(&model, reversed: reversed) }
}

/// The stub store: answers the running batch with a plausible reply for
/// each request.
private func answerRunningBatch(_ model: inout ServerConnectionModel, reversed: Bool) {
    guard let batch = model.batches.first else { return }
    var replies = batch.map { WireEnvelope(requestId: $0.requestId, stubReply(to: $0.message)) }
    if reversed { replies.reverse() }
    model.batchAnswered(replies)
}

private func stubReply(to request: WireRequest) -> WireResponse {
    switch request {
    case .hello: .error(WireError(.protocolViolation, "HELLO after the handshake"))
    case .ping: .pong
    case .create(let create):
        .created(
            AshContextPublicInfo(
                contextId: "AAECAwQFBgcICQoLDA0ODw", expiresAt: create.ttlMilliseconds, mode: create.mode))
    case .createBatch(let entries):
        .createdBatch(entries.map { _ in .failure(WireError(.storeCapacityExceeded, "the engine is full")) })
    case .put: .stored
    case .get(let contextId): .context(contextId.count % 2 == 0 ? nil : Samples.context(id: contextId))
    case .consume: .consumed(.alreadyConsumed)
    case .consumeBatch(let batch): .consumedBatch(batch.contextIds.map { _ in .success(.missing) })
    case .verify(let verify):
        verify.proof.isEmpty
            ? .verified(.failure(AshError(.integrityFailed)))
            : .verified(.success(Samples.context(id: verify.contextId)))
    case .delete: .deleted(true)
    case .cleanup: .cleanedUp(removed: 3)
    case .stats: .stats([WireStatistic(name: "contexts.live", value: 1)])
    }
}

private enum Samples {
    static func context(id: String) -> AshContext {
        AshContext(
            contextId: id, binding: "POST /api/transfer", mode: .balanced, issuedAt: 1_764_000_000_000,
            expiresAt: 1_764_000_030_000, nonce: "n", consumedAt: nil)
    }
}
