import AshCore
import Foundation

/// The issuance endpoint's exchange, shared by the callers: the request
/// body `{"binding":"…"}` and the reading of the answer.
public enum AshIssuance {
    /// `{"binding":"METHOD /path"}`.
    public static func requestBody(binding: String) -> [UInt8] {
        Array((try? JSONEncoder().encode(["binding": binding])) ?? Data())
    }

    /// The issued context in a 200 answer.
    /// - Throws: ``AshCallError`` for another status or a body that is not a
    ///   context.
    public static func context(status: Int, body: [UInt8]) throws(AshCallError) -> AshContextPublicInfo {
        guard status == 200 else {
            let serverCode = (try? JSONDecoder().decode(ErrorBody.self, from: Data(body)))?.error.code
            throw AshCallError(code: "ISSUANCE_REFUSED", status: status, serverCode: serverCode)
        }
        guard let context = try? JSONDecoder().decode(AshContextPublicInfo.self, from: Data(body)) else {
            throw AshCallError(code: "MALFORMED_CONTEXT", status: status)
        }
        return context
    }

    private struct ErrorBody: Decodable {
        struct Inner: Decodable { var code: String }
        var error: Inner
    }
}
