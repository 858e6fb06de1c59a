import AshCore
import Testing

@Suite struct BindingTests {
    @Test(arguments: [
        ("post", "/api/test", "POST /api/test"),
        ("GET", "", "GET /"),
        ("GET", "api", "GET /api"),
        ("GET", "//", "GET /"),
        ("GET", "/a/#frag?x", "GET /a"),
        ("GET", "/a?q=1#f", "GET /a"),
        ("get", "///a//b///", "GET /a/b"),
        ("patch", "/caf\u{e9}/", "PATCH /caf\u{e9}"),
        ("stra\u{df}e", "/", "STRASSE /"),
    ])
    func normalizes(method: String, path: String, expected: String) {
        #expect(AshBinding.normalize(method: method, path: path) == expected)
    }
}
