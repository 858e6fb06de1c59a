import AshCore
import AshHTTP
import HTTPTypes

/// The transfer route's answer: what was sent, and the context it used.
enum TransferReceipt {
    static func answer(body: [UInt8], context: AshContext?) -> AshHTTPResponse {
        // The body was verified byte for byte; it is echoed in canonical form.
        let canonical = (try? AshCanonicalJSON.canonicalize(utf8: body)) ?? "null"
        var json = JSONText()
        json.object { json in
            json.member("status", string: "ok")
            json.member("transfer") { json in json.raw(canonical) }
            if let context {
                json.member("mode", string: context.mode.rawValue)
                json.member("consumedAt", integer: context.consumedAt ?? 0)
            }
        }
        return AshHTTPResponse(status: .ok, json: json.text)
    }
}
