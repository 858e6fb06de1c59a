import AshCore
import Testing

@Suite struct IdentifierTests {
    @Test func idsAre22Base64URLCharactersOf16Bytes() {
        var generator = AshIdentifierGenerator(bufferSize: 64)
        for _ in 0..<1_000 {
            let id = generator.next()
            #expect(id.utf8.count == 22)
            #expect(Base64URL.decode(id)?.count == 16)
            #expect(AshCompactID(id)?.description == id)
        }
    }

    @Test func compactIDRoundTripsBytes() throws {
        let bytes: [UInt8] = (0..<16).map { UInt8($0 * 17) }
        let text = Base64URL.encode(bytes)
        let compact = try #require(AshCompactID(text))
        #expect(compact.description == text)
        #expect(Base64URL.decode(compact.description) == bytes)
    }

    @Test(arguments: [
        "", "short", "AAAAAAAAAAAAAAAAAAAAAB", "AAAAAAAAAAAAAAAAAAAAA=", "AAAAAAAAAAAAAAAAAAAA+A",
        "AAAAAAAAAAAAAAAAAAAAAAA",
    ])
    func foreignIdsHaveNoCompactForm(text: String) {
        #expect(AshCompactID(text) == nil)
    }

    @Test func everyByteIsASymbolExactlyWhenBase64URLSaysSo() {
        let symbols = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        for byte in UInt8.min...UInt8.max {
            let text = [byte] + Array(repeating: UInt8(ascii: "A"), count: 21)
            let parsed = text.withUnsafeBytes { AshCompactID(utf8: $0) }
            if let value = symbols.firstIndex(of: byte) {
                // The first symbol is the top 6 bits of the first byte.
                #expect(parsed.map { $0.high & 0xFF } == UInt64(value << 2), "symbol \(byte)")
            } else {
                #expect(parsed == nil, "byte \(byte) is not a symbol")
            }
        }
    }

    @Test func base64URLRoundTrips() {
        for length in 0..<40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            #expect(Base64URL.decode(Base64URL.encode(bytes)) == bytes)
        }
        #expect(Base64URL.decode("a") == nil)
        #expect(Base64URL.decode("ab==") == nil)
    }
}
