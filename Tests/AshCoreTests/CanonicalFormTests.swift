import AshCore
import Testing

@Suite struct CanonicalFormTests {
    @Test(arguments: [
        ("", ""),
        ("&&a=1&&", "a=1"),
        ("=x&a=1&=", "a=1"),
        ("b=~*'()!-_.&a=a+b", "a=a%20b&b=~*'()!-_."),
        ("k=%F0%9F%98%80", "k=%F0%9F%98%80"),
        ("k=a%2Bb+c", "k=a%2Bb%20c"),
        ("a=1=2", "a=1%3D2"),
        ("%61=1", "a=1"),
        ("b=2&a=2&b=1&a=1", "a=2&a=1&b=2&b=1"),
        ("k=\u{e9}", "k=%C3%A9"),
    ])
    func canonicalizes(input: String, expected: String) throws {
        #expect(try AshCanonicalForm.canonicalize(input) == expected)
    }

    @Test(arguments: [
        "a=%", "a=%4", "a=%zz", "a=%C3", "a=%C3%28", "a=%ED%A0%80", "a=%C0%80", "a=%F4%90%80%80", "%C3=1",
    ])
    func rejectsMalformedEscapes(input: String) {
        #expect(throws: AshError.self) { try AshCanonicalForm.canonicalize(input) }
    }
}
