import NIOCore

/// Parses RESP2 and RESP3 replies from a `ByteBuffer`, one value at a time.
///
/// A pure value type: no I/O, no state between calls. ``decode(_:)`` either
/// returns a complete value and moves the buffer's reader index past it,
/// returns `nil` and leaves the buffer untouched when only part of a value
/// has arrived, or throws ``RESPProtocolError`` for malformed input or input
/// beyond ``Limits``. After a throw the stream cannot be resynchronized.
///
/// Supported: `+ - : $ *` (RESP2) and `_ # , ( ! = % ~ > |` (RESP3;
/// attributes are read and dropped). Streamed RESP3 strings and aggregates
/// (`$?`, `*?`) are rejected.
///
/// Every call parses the pending value from its start, so a reply that
/// arrives in many pieces costs a rescan per piece; replies to this
/// package's commands are small, and the limits bound the worst case.
package struct RESPDecoder: Sendable {
    /// Bounds on what one reply may claim, so a hostile or broken server
    /// cannot make the client allocate without limit.
    package struct Limits: Sendable, Hashable {
        /// Bytes in one bulk string, verbatim string or bulk error.
        package var maximumBulkLength: Int
        /// Elements of one array, set or push; pairs of one map or attribute.
        package var maximumAggregateLength: Int
        /// Aggregates nested inside each other.
        package var maximumDepth: Int
        /// Bytes in one line (simple string, error, number), without CRLF.
        package var maximumLineLength: Int

        package init(
            maximumBulkLength: Int = 16 * 1024 * 1024,
            maximumAggregateLength: Int = 1 << 20,
            maximumDepth: Int = 32,
            maximumLineLength: Int = 64 * 1024
        ) {
            self.maximumBulkLength = maximumBulkLength
            self.maximumAggregateLength = maximumAggregateLength
            self.maximumDepth = maximumDepth
            self.maximumLineLength = maximumLineLength
        }
    }

    package var limits: Limits

    package init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Decodes the value at the front of `buffer`.
    ///
    /// - Returns: the value, with `buffer`'s reader index moved past it, or
    ///   `nil` when more bytes are needed (the buffer is then unchanged).
    /// - Throws: ``RESPProtocolError`` for malformed input or an exceeded limit.
    package func decode(_ buffer: inout ByteBuffer) throws(RESPProtocolError) -> RESPValue? {
        var parser = RESPParser(buffer: buffer, limits: limits)
        guard let value = try parser.parseValue(depth: 0) else { return nil }
        buffer.moveReaderIndex(to: parser.index)
        return value
    }
}

/// One parse attempt over the readable bytes of a buffer.
private struct RESPParser {
    let buffer: ByteBuffer
    let limits: RESPDecoder.Limits
    /// Absolute index of the next unread byte.
    var index: Int

    init(buffer: ByteBuffer, limits: RESPDecoder.Limits) {
        self.buffer = buffer
        self.limits = limits
        self.index = buffer.readerIndex
    }

    mutating func parseValue(depth: Int) throws(RESPProtocolError) -> RESPValue? {
        guard let type = buffer.getInteger(at: index, as: UInt8.self), index < buffer.writerIndex else {
            return nil
        }
        let start = index
        index += 1
        let value: RESPValue?
        switch type {
        case UInt8(ascii: "+"):
            value = try readLine().map {
                .simpleString(buffer.getSlice(at: $0.lowerBound, length: $0.count) ?? ByteBuffer())
            }
        case UInt8(ascii: "-"): value = try readLine().map { .error(RESPErrorReply(message: text($0))) }
        case UInt8(ascii: ":"):
            value = try readLine().map { line throws(RESPProtocolError) in .integer(try integer(line)) }
        case UInt8(ascii: "$"): value = try readBulk(nullable: true).map { $0.map(RESPValue.bulkString) ?? .null }
        case UInt8(ascii: "*"): value = try readAggregate(depth: depth, nullable: true) { .array($0) }
        case UInt8(ascii: "_"): value = try readLine().map { line throws(RESPProtocolError) in try null(line) }
        case UInt8(ascii: "#"):
            value = try readLine().map { line throws(RESPProtocolError) in .boolean(try boolean(line)) }
        case UInt8(ascii: ","):
            value = try readLine().map { line throws(RESPProtocolError) in .double(try double(line)) }
        case UInt8(ascii: "("):
            value = try readLine().map { line throws(RESPProtocolError) in .bigNumber(try bigNumber(line)) }
        case UInt8(ascii: "!"):
            value = try readBulk(nullable: false).map {
                .error(RESPErrorReply(message: String(buffer: $0 ?? ByteBuffer())))
            }
        case UInt8(ascii: "="): value = try readVerbatim()
        case UInt8(ascii: "%"): value = try readMap(depth: depth)
        case UInt8(ascii: "~"): value = try readAggregate(depth: depth, nullable: false) { .set($0) }
        case UInt8(ascii: ">"): value = try readAggregate(depth: depth, nullable: false) { .push($0) }
        case UInt8(ascii: "|"): value = try readAttributedValue(depth: depth)
        default:
            throw RESPProtocolError(
                "unknown type byte 0x\(String(type, radix: 16)) at offset \(start - buffer.readerIndex)")
        }
        if value == nil { index = start }
        return value
    }

    // MARK: Lines and scalars

    /// The range of the line's content, with the index moved past its CRLF.
    mutating func readLine() throws(RESPProtocolError) -> Range<Int>? {
        let available = buffer.writerIndex - index
        let searchEnd = index + min(available, limits.maximumLineLength + 1)
        guard let carriageReturn = buffer.readableBytesView[index..<searchEnd].firstIndex(of: UInt8(ascii: "\r")) else {
            if available > limits.maximumLineLength {
                throw RESPProtocolError("line longer than \(limits.maximumLineLength) bytes")
            }
            return nil
        }
        guard carriageReturn + 1 < buffer.writerIndex else { return nil }
        guard buffer.getInteger(at: carriageReturn + 1, as: UInt8.self) == UInt8(ascii: "\n") else {
            throw RESPProtocolError("CR not followed by LF")
        }
        let line = index..<carriageReturn
        index = carriageReturn + 2
        return line
    }

    func text(_ line: Range<Int>) -> String {
        buffer.getString(at: line.lowerBound, length: line.count) ?? ""
    }

    /// A signed decimal `Int64`: optional `-`, then one or more digits.
    func integer(_ line: Range<Int>) throws(RESPProtocolError) -> Int64 {
        let bytes = buffer.readableBytesView[line]
        var digits = bytes[...]
        let negative = digits.first == UInt8(ascii: "-")
        if negative { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.count <= 19 else { throw RESPProtocolError("invalid integer") }
        var magnitude: UInt64 = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else {
                throw RESPProtocolError("invalid integer")
            }
            magnitude = magnitude * 10 + UInt64(byte - UInt8(ascii: "0"))
        }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { throw RESPProtocolError("integer out of range") }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { throw RESPProtocolError("integer out of range") }
        return Int64(magnitude)
    }

    func null(_ line: Range<Int>) throws(RESPProtocolError) -> RESPValue {
        guard line.isEmpty else { throw RESPProtocolError("null with content") }
        return .null
    }

    func boolean(_ line: Range<Int>) throws(RESPProtocolError) -> Bool {
        switch text(line) {
        case "t": return true
        case "f": return false
        default: throw RESPProtocolError("invalid boolean")
        }
    }

    func double(_ line: Range<Int>) throws(RESPProtocolError) -> Double {
        let literal = text(line)
        switch literal {
        case "inf", "+inf": return .infinity
        case "-inf": return -.infinity
        case "nan", "-nan": return .nan
        default: break
        }
        let allowed = literal.utf8.allSatisfy { byte in
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+")
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E")
        }
        guard allowed, let value = Double(literal) else { throw RESPProtocolError("invalid double") }
        return value
    }

    func bigNumber(_ line: Range<Int>) throws(RESPProtocolError) -> String {
        let literal = text(line)
        let digits = literal.hasPrefix("-") ? literal.utf8.dropFirst() : literal.utf8[...]
        guard !digits.isEmpty, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            throw RESPProtocolError("invalid big number")
        }
        return literal
    }

    /// A length header: `-1` (when `nullable`) or a count up to `maximum`.
    mutating func readLength(nullable: Bool, maximum: Int, what: String) throws(RESPProtocolError) -> Int?? {
        guard let line = try readLine() else { return .none }
        if buffer.getInteger(at: line.lowerBound, as: UInt8.self) == UInt8(ascii: "?"), line.count == 1 {
            throw RESPProtocolError("streamed \(what)s are not supported")
        }
        let length = try integer(line)
        if length == -1, nullable { return .some(nil) }
        guard length >= 0 else { throw RESPProtocolError("negative \(what) length \(length)") }
        guard length <= maximum else {
            throw RESPProtocolError("\(what) length \(length) exceeds the limit of \(maximum)")
        }
        return .some(Int(length))
    }

    // MARK: Blobs

    /// The payload of `$`/`!`; `.some(nil)` for a RESP2 null bulk string.
    mutating func readBulk(nullable: Bool) throws(RESPProtocolError) -> ByteBuffer?? {
        guard let header = try readLength(nullable: nullable, maximum: limits.maximumBulkLength, what: "bulk string")
        else {
            return .none
        }
        guard let length = header else { return .some(nil) }
        guard buffer.writerIndex - index >= length + 2 else { return .none }
        guard buffer.getInteger(at: index + length, as: UInt8.self) == UInt8(ascii: "\r"),
            buffer.getInteger(at: index + length + 1, as: UInt8.self) == UInt8(ascii: "\n")
        else {
            throw RESPProtocolError("bulk string not terminated by CRLF")
        }
        let payload = buffer.getSlice(at: index, length: length) ?? ByteBuffer()
        index += length + 2
        return .some(payload)
    }

    mutating func readVerbatim() throws(RESPProtocolError) -> RESPValue? {
        guard let bulk = try readBulk(nullable: false), var payload = bulk else { return nil }
        guard payload.readableBytes >= 4,
            payload.getInteger(at: payload.readerIndex + 3, as: UInt8.self) == UInt8(ascii: ":"),
            let format = payload.readString(length: 3)
        else {
            throw RESPProtocolError("verbatim string without a format prefix")
        }
        payload.moveReaderIndex(forwardBy: 1)
        return .verbatimString(format: format, text: payload)
    }

    // MARK: Aggregates

    mutating func readElements(count: Int, depth: Int) throws(RESPProtocolError) -> [RESPValue]? {
        guard depth < limits.maximumDepth else {
            throw RESPProtocolError("aggregates nested deeper than \(limits.maximumDepth)")
        }
        var elements: [RESPValue] = []
        // Reserve only what the received bytes can hold (at least 3 bytes
        // per element), so a huge announced count allocates nothing.
        elements.reserveCapacity(min(count, (buffer.writerIndex - index) / 3))
        for _ in 0..<count {
            guard let element = try parseValue(depth: depth + 1) else { return nil }
            elements.append(element)
        }
        return elements
    }

    mutating func readAggregate(
        depth: Int,
        nullable: Bool,
        _ make: ([RESPValue]) -> RESPValue
    ) throws(RESPProtocolError) -> RESPValue? {
        guard let header = try readLength(nullable: nullable, maximum: limits.maximumAggregateLength, what: "aggregate")
        else { return nil }
        guard let count = header else { return .null }
        return try readElements(count: count, depth: depth).map(make)
    }

    mutating func readPairs(depth: Int) throws(RESPProtocolError) -> [RESPMapEntry]? {
        guard let header = try readLength(nullable: false, maximum: limits.maximumAggregateLength, what: "map"),
            let count = header
        else { return nil }
        guard let flat = try readElements(count: count * 2, depth: depth) else { return nil }
        return stride(from: 0, to: flat.count, by: 2).map { RESPMapEntry(key: flat[$0], value: flat[$0 + 1]) }
    }

    mutating func readMap(depth: Int) throws(RESPProtocolError) -> RESPValue? {
        try readPairs(depth: depth).map { .map($0) }
    }

    /// `|`: attributes, then the value they describe; only the value is kept.
    mutating func readAttributedValue(depth: Int) throws(RESPProtocolError) -> RESPValue? {
        guard depth < limits.maximumDepth else {
            throw RESPProtocolError("aggregates nested deeper than \(limits.maximumDepth)")
        }
        guard try readPairs(depth: depth) != nil else { return nil }
        return try parseValue(depth: depth + 1)
    }
}
