import NIOCore

/// A command as Redis receives it: an array of bulk strings, the first one
/// naming the command (`["SET", "key", "value", "NX"]`).
package struct RESPCommand: Sendable, Hashable {
    /// The command name and its arguments, in order.
    package var arguments: [String]

    package init(_ name: String, _ arguments: String...) {
        self.arguments = [name] + arguments
    }

    package init(arguments: [String]) {
        self.arguments = arguments
    }

    /// The command name, for error messages (arguments may hold values and
    /// credentials, so they never appear in messages).
    package var name: String { arguments.first ?? "" }

    /// Writes the command in RESP: `*<n>\r\n` then `$<len>\r\n<bytes>\r\n`
    /// for each argument.
    ///
    /// One capacity check and one bounds-checked copy per argument: this
    /// runs for every command a pipeline sends.
    package func encode(into buffer: inout ByteBuffer) {
        let length = encodedLength
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { bytes in
            var offset = Self.writeHeader(UInt8(ascii: "*"), arguments.count, into: bytes, at: 0)
            for argument in arguments {
                var argument = argument
                argument.withUTF8 { utf8 in
                    offset = Self.writeHeader(UInt8(ascii: "$"), utf8.count, into: bytes, at: offset)
                    UnsafeMutableRawBufferPointer(rebasing: bytes[offset..<(offset + utf8.count)])
                        .copyMemory(from: UnsafeRawBufferPointer(utf8))
                    offset += utf8.count
                }
                bytes[offset] = UInt8(ascii: "\r")
                bytes[offset + 1] = UInt8(ascii: "\n")
                offset += 2
            }
            return offset
        }
    }

    /// The encoded size in bytes, for sizing a buffer up front.
    package var encodedLength: Int {
        var length = 3 + Self.decimalDigits(arguments.count)
        for argument in arguments {
            let count = argument.utf8.count
            length += 5 + Self.decimalDigits(count) + count
        }
        return length
    }

    /// Writes `<marker><value>\r\n` at `offset`; returns the offset after it.
    private static func writeHeader(
        _ marker: UInt8, _ value: Int, into bytes: UnsafeMutableRawBufferPointer, at offset: Int
    ) -> Int {
        bytes[offset] = marker
        let digits = decimalDigits(value)
        var remaining = value
        for position in stride(from: offset + digits, to: offset, by: -1) {
            bytes[position] = UInt8(ascii: "0") + UInt8(remaining % 10)
            remaining /= 10
        }
        bytes[offset + digits + 1] = UInt8(ascii: "\r")
        bytes[offset + digits + 2] = UInt8(ascii: "\n")
        return offset + digits + 3
    }

    /// The number of decimal digits of a non-negative `value`.
    private static func decimalDigits(_ value: Int) -> Int {
        var digits = 1
        var rest = value / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        return digits
    }
}
