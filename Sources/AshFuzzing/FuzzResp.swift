import AshRedis
import NIOCore

/// Fuzz target 3: AshRedis's RESP decoder on a byte stream that arrives in
/// pieces.
///
/// Input layout:
///
/// | bytes | meaning |
/// |---|---|
/// | 1 | bit 0: tight limits (16-byte bulks and lines, 4 elements, depth 3), else the defaults |
/// | 1 | *k*, the number of pieces |
/// | *k* | the size of each piece, 1–256 bytes; the rest of the stream is the last piece |
/// | rest | the stream |
///
/// Checks: decoding never traps; `nil` (incomplete) and errors leave the
/// buffer unchanged, a value moves it forward; the values, and where an
/// error comes, are the same whether the stream arrives whole or in
/// pieces.
package func fuzzResp(_ data: UnsafeRawBufferPointer) {
    var input = FuzzInput(data)
    let tight = input.byte() & 1 != 0
    let pieces = input.bytes(Int(input.byte()))
    let stream = input.rest()
    let decoder = RESPDecoder(
        limits: tight
            ? RESPDecoder.Limits(
                maximumBulkLength: 16, maximumAggregateLength: 4, maximumDepth: 3, maximumLineLength: 16)
            : RESPDecoder.Limits()
    )

    // The whole stream at once.
    var whole = ByteBuffer(bytes: stream)
    var expected: [(value: RESPValue, end: Int)] = []
    var failed = false
    while true {
        guard let outcome = decodeOne(decoder, &whole) else { break }
        guard let value = outcome else {
            failed = true
            break
        }
        expected.append((value, whole.readerIndex))
    }

    // The same stream in pieces.
    var buffer = ByteBuffer()
    var consumed = 0
    var position = stream.startIndex
    var decodedCount = 0
    var sizes = pieces.map { Int($0) + 1 }
    sizes.append(stream.count)
    for size in sizes where position < stream.endIndex {
        let end = min(stream.endIndex, position + size)
        buffer.writeBytes(stream[position..<end])
        position = end
        while true {
            let before = buffer.readerIndex
            guard let outcome = decodeOne(decoder, &buffer) else { break }
            guard let value = outcome else {
                fuzzCheck(
                    failed && decodedCount == expected.count,
                    "an error after \(decodedCount) values in pieces; whole: \(expected.count) values, error \(failed)")
                return
            }
            consumed += buffer.readerIndex - before
            fuzzCheck(decodedCount < expected.count, "a value in pieces that the whole stream does not have")
            fuzzCheck(same(value, expected[decodedCount].value), "value \(decodedCount) differs in pieces")
            fuzzCheck(consumed == expected[decodedCount].end, "value \(decodedCount) ends elsewhere in pieces")
            decodedCount += 1
            if buffer.readerIndex > 4_096 { buffer.discardReadBytes() }
        }
    }
    fuzzCheck(!failed, "the whole stream fails, the same stream in pieces does not")
    fuzzCheck(decodedCount == expected.count, "\(decodedCount) values in pieces, \(expected.count) whole")
}

/// One decode: `nil` when more bytes are needed, `.some(nil)` for an
/// error, else the value; checks what each does to the buffer.
private func decodeOne(_ decoder: RESPDecoder, _ buffer: inout ByteBuffer) -> RESPValue?? {
    let before = buffer
    do {
        guard let value = try decoder.decode(&buffer) else {
            fuzzCheck(
                buffer == before && buffer.readerIndex == before.readerIndex, "an incomplete value moved the buffer")
            return nil
        }
        fuzzCheck(buffer.readerIndex > before.readerIndex, "a value consumed no bytes")
        touch(value)
        return .some(value)
    } catch {
        fuzzCheck(buffer.readerIndex == before.readerIndex, "an error moved the buffer")
        fuzzCheck(!error.description.isEmpty, "an error without a reason")
        return .some(nil)
    }
}

/// Reads every accessor a caller uses.
private func touch(_ value: RESPValue) {
    _ = value.string
    switch value {
    case .error(let reply): _ = reply.kind
    case .array(let elements), .set(let elements), .push(let elements): elements.forEach(touch)
    case .map(let entries):
        for entry in entries {
            touch(entry.key)
            touch(entry.value)
        }
    default: break
    }
}

/// Equality, with NaN equal to NaN.
private func same(_ lhs: RESPValue, _ rhs: RESPValue) -> Bool {
    switch (lhs, rhs) {
    case (.double(let left), .double(let right)):
        return left == right || (left.isNaN && right.isNaN)
    case (.array(let left), .array(let right)), (.set(let left), .set(let right)), (.push(let left), .push(let right)):
        return left.count == right.count && zip(left, right).allSatisfy(same)
    case (.map(let left), .map(let right)):
        return left.count == right.count
            && zip(left, right).allSatisfy { same($0.key, $1.key) && same($0.value, $1.value) }
    default:
        return lhs == rhs
    }
}
