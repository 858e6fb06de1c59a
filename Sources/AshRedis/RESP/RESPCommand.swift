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
    package func encode(into buffer: inout ByteBuffer) {
        buffer.writeStaticString("*")
        buffer.writeString(String(arguments.count))
        buffer.writeStaticString("\r\n")
        for argument in arguments {
            buffer.writeStaticString("$")
            buffer.writeString(String(argument.utf8.count))
            buffer.writeStaticString("\r\n")
            buffer.writeString(argument)
            buffer.writeStaticString("\r\n")
        }
    }

    /// The encoded size in bytes, for sizing a buffer up front.
    package var encodedLength: Int {
        func digits(_ value: Int) -> Int { String(value).utf8.count }
        var length = 3 + digits(arguments.count)
        for argument in arguments {
            let count = argument.utf8.count
            length += 5 + digits(count) + count
        }
        return length
    }
}
