import AshRedis
import AshTesting
import NIOCore
import Testing

@Suite struct RESPDecoderTests {
    static func bytes(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }
    static func bulk(_ text: String) -> RESPValue { .bulkString(bytes(text)) }

    /// Wire text and the values it holds, RESP2 and RESP3.
    static let samples: [(String, [RESPValue])] = [
        ("+OK\r\n", [.simpleString(bytes("OK"))]),
        ("+\r\n", [.simpleString(bytes(""))]),
        ("-ERR unknown command 'FOO'\r\n", [.error(RESPErrorReply(message: "ERR unknown command 'FOO'"))]),
        (":0\r\n", [.integer(0)]),
        (":-1\r\n", [.integer(-1)]),
        (":9223372036854775807\r\n", [.integer(.max)]),
        (":-9223372036854775808\r\n", [.integer(.min)]),
        ("$5\r\nhello\r\n", [bulk("hello")]),
        ("$0\r\n\r\n", [bulk("")]),
        ("$7\r\na\r\nb\r\nc\r\n", [bulk("a\r\nb\r\nc")]),
        ("$-1\r\n", [.null]),
        ("*-1\r\n", [.null]),
        ("*0\r\n", [.array([])]),
        (
            "*3\r\n$3\r\nfoo\r\n:42\r\n*1\r\n+x\r\n",
            [.array([bulk("foo"), .integer(42), .array([.simpleString(bytes("x"))])])]
        ),
        ("*2\r\n$-1\r\n*-1\r\n", [.array([.null, .null])]),
        ("+A\r\n+B\r\n:3\r\n", [.simpleString(bytes("A")), .simpleString(bytes("B")), .integer(3)]),
        ("_\r\n", [.null]),
        ("#t\r\n#f\r\n", [.boolean(true), .boolean(false)]),
        (
            ",3.25\r\n,-1e3\r\n,inf\r\n,-inf\r\n",
            [.double(3.25), .double(-1000), .double(.infinity), .double(-.infinity)]
        ),
        (
            "(3492890328409238509324850943850943825024385\r\n",
            [.bigNumber("3492890328409238509324850943850943825024385")]
        ),
        ("!21\r\nSYNTAX invalid syntax\r\n", [.error(RESPErrorReply(message: "SYNTAX invalid syntax"))]),
        ("=15\r\ntxt:Some string\r\n", [.verbatimString(format: "txt", text: bytes("Some string"))]),
        (
            "%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n",
            [
                .map([
                    RESPMapEntry(key: .simpleString(bytes("a")), value: .integer(1)),
                    RESPMapEntry(key: .simpleString(bytes("b")), value: .integer(2)),
                ])
            ]
        ),
        ("~2\r\n:1\r\n:2\r\n", [.set([.integer(1), .integer(2)])]),
        (">2\r\n+message\r\n$2\r\nhi\r\n", [.push([.simpleString(bytes("message")), bulk("hi")])]),
        ("|1\r\n+key-popularity\r\n%0\r\n:7\r\n", [.integer(7)]),
    ]

    /// Decodes everything in `chunks`, fed one at a time.
    static func decodeAll(_ chunks: [[UInt8]], limits: RESPDecoder.Limits = RESPDecoder.Limits()) throws -> [RESPValue]
    {
        let decoder = RESPDecoder(limits: limits)
        var buffer = ByteBuffer()
        var values: [RESPValue] = []
        for chunk in chunks {
            buffer.writeBytes(chunk)
            while let value = try decoder.decode(&buffer) { values.append(value) }
        }
        #expect(buffer.readableBytes == 0, "bytes left over")
        return values
    }

    @Test func randomSplitsGiveTheSameValues() throws {
        let wire = Array(Self.samples.map(\.0).joined().utf8)
        let expected = Self.samples.flatMap(\.1)
        var generator = SplitMix64(seed: 0xA5A5_0001)
        for _ in 0..<200 {
            var chunks: [[UInt8]] = []
            var start = 0
            while start < wire.count {
                let length = Int(generator.next() % 9) + (generator.next() % 7 == 0 ? 40 : 0)
                let end = min(wire.count, start + length)
                chunks.append(Array(wire[start..<end]))
                start = end
            }
            #expect(try Self.decodeAll(chunks) == expected)
        }
    }

    @Test func byteByByteNeedsMoreDataUntilTheLastByte() throws {
        let decoder = RESPDecoder()
        let wire = Array("*2\r\n$3\r\nfoo\r\n:-12\r\n".utf8)
        var buffer = ByteBuffer()
        for (offset, byte) in wire.enumerated() {
            buffer.writeInteger(byte)
            let value = try decoder.decode(&buffer)
            if offset < wire.count - 1 {
                #expect(value == nil, "value after \(offset + 1) bytes")
                #expect(buffer.readerIndex == 0, "consumed bytes of an incomplete value")
            } else {
                #expect(value == .array([Self.bulk("foo"), .integer(-12)]))
                #expect(buffer.readableBytes == 0)
            }
        }
    }

    @Test func nanDoubles() throws {
        var buffer = Self.bytes(",nan\r\n")
        guard case .double(let value)? = try RESPDecoder().decode(&buffer) else {
            Issue.record("not a double")
            return
        }
        #expect(value.isNaN)
    }

    static let malformed: [(String, String)] = [
        ("?\r\n", "unknown type byte"),
        ("+OK\rX", "CR without LF"),
        (":\r\n", "empty integer"),
        (":12a\r\n", "letter in integer"),
        (":+1\r\n", "plus sign"),
        (":9223372036854775808\r\n", "integer overflow"),
        (":-9223372036854775809\r\n", "integer underflow"),
        (":12345678901234567890\r\n", "twenty digits"),
        ("$-2\r\n", "negative bulk length"),
        ("$x\r\n", "bulk length not a number"),
        ("$3\r\nfooXY", "bulk without CRLF"),
        ("$3\r\nfoo\n\r", "bulk with LF CR"),
        ("*-2\r\n", "negative array length"),
        ("*1\r\n?\r\n", "bad element"),
        ("$?\r\n", "streamed string"),
        ("*?\r\n", "streamed aggregate"),
        ("_x\r\n", "null with content"),
        ("#x\r\n", "bad boolean"),
        (",1.2.x\r\n", "bad double"),
        (",\r\n", "empty double"),
        ("(12a\r\n", "bad big number"),
        ("(\r\n", "empty big number"),
        ("=2\r\nab\r\n", "verbatim too short"),
        ("=5\r\ntxtab\r\n", "verbatim without colon"),
        ("~-1\r\n", "null set"),
        ("%-1\r\n", "null map"),
        ("!-1\r\n", "null bulk error"),
    ]

    @Test(arguments: malformed)
    func malformedInputThrows(_ input: String, _ what: String) {
        var buffer = Self.bytes(input)
        #expect(throws: RESPProtocolError.self, "\(what)") { try RESPDecoder().decode(&buffer) }
    }

    @Test func limitsAreEnforcedBeforeDataArrives() throws {
        let limits = RESPDecoder.Limits(
            maximumBulkLength: 8, maximumAggregateLength: 4, maximumDepth: 3, maximumLineLength: 16)
        let decoder = RESPDecoder(limits: limits)
        let cases = [
            "$9\r\n",  // announced bulk too long: rejected before its bytes arrive
            "!9\r\n",
            "=9\r\n",
            "*5\r\n",
            "~5\r\n",
            "%5\r\n",
            ">5\r\n",
            "*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n",  // nested four deep
            String(repeating: "|1\r\n+a\r\n+b\r\n", count: 4) + "+x\r\n",  // attributes count as nesting
            "+" + String(repeating: "a", count: 17),  // line too long, no CR yet
            "-" + String(repeating: "a", count: 17) + "\r\n",
        ]
        for input in cases {
            var buffer = Self.bytes(input)
            #expect(throws: RESPProtocolError.self, "\(input.debugDescription)") { try decoder.decode(&buffer) }
        }
        var atLimit = Self.bytes(
            "$8\r\n12345678\r\n*1\r\n*1\r\n*1\r\n:1\r\n+" + String(repeating: "a", count: 16) + "\r\n")
        #expect(try decoder.decode(&atLimit) == Self.bulk("12345678"))
        #expect(try decoder.decode(&atLimit) == .array([.array([.array([.integer(1)])])]))
        #expect(try decoder.decode(&atLimit) == .simpleString(Self.bytes(String(repeating: "a", count: 16))))
    }

    @Test func hugeAnnouncedArrayAllocatesNothingUpFront() throws {
        var buffer = Self.bytes("*1000000\r\n:1\r\n")
        #expect(try RESPDecoder().decode(&buffer) == nil)
        #expect(buffer.readerIndex == 0)
    }
}

/// A small deterministic generator, so failures reproduce.
