import AshRedis
import NIOCore
import Testing

@Suite struct RESPCommandTests {
    @Test func encodesAnArrayOfBulkStrings() {
        let command = RESPCommand("SET", "ash:ctx:a", "{\"b\":\"é\"}", "PX", "30000", "NX")
        var buffer = ByteBuffer()
        command.encode(into: &buffer)
        let expected =
            "*6\r\n$3\r\nSET\r\n$9\r\nash:ctx:a\r\n$10\r\n{\"b\":\"é\"}\r\n$2\r\nPX\r\n$5\r\n30000\r\n$2\r\nNX\r\n"
        #expect(String(buffer: buffer) == expected)
        #expect(command.encodedLength == buffer.readableBytes)
        #expect(command.name == "SET")
    }

    @Test func emptyArgumentsAndManyArguments() {
        let command = RESPCommand(arguments: ["ECHO", ""] + Array(repeating: "x", count: 10))
        var buffer = ByteBuffer()
        command.encode(into: &buffer)
        #expect(String(buffer: buffer).hasPrefix("*12\r\n$4\r\nECHO\r\n$0\r\n\r\n$1\r\nx\r\n"))
        #expect(command.encodedLength == buffer.readableBytes)
    }

    @Test func decoderReadsWhatTheEncoderWritesAsAnArray() throws {
        let command = RESPCommand("EVALSHA", "abc", "1", "key\r\nwith crlf", "1767225600000")
        var buffer = ByteBuffer()
        command.encode(into: &buffer)
        let decoded = try RESPDecoder().decode(&buffer)
        #expect(decoded == .array(command.arguments.map { .bulkString(ByteBuffer(string: $0)) }))
    }

    @Test func lengthsOfSeveralDigitsAndNonASCIIText() {
        let long = String(repeating: "é", count: 6_000)  // 12,000 bytes
        let command = RESPCommand("SET", "k", long)
        var buffer = ByteBuffer(string: "prefix")
        command.encode(into: &buffer)
        #expect(String(buffer: buffer) == "prefix*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$12000\r\n" + long + "\r\n")
        #expect(command.encodedLength == buffer.readableBytes - 6)
    }
}
