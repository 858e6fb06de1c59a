/// Reads a fuzz input front to back. Reads past the end yield zeros and
/// empty slices, so every input, however short, is a valid program.
struct FuzzInput {
    private let bytes: [UInt8]
    private(set) var position = 0

    init(_ data: UnsafeRawBufferPointer) {
        bytes = Array(data)
    }

    var isAtEnd: Bool { position >= bytes.count }

    /// The next byte, or 0 past the end.
    mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    /// Up to `count` next bytes.
    mutating func bytes(_ count: Int) -> ArraySlice<UInt8> {
        let end = min(bytes.count, position + max(0, count))
        defer { position = max(position, end) }
        return bytes[min(position, end)..<end]
    }

    /// Everything not read yet.
    mutating func rest() -> ArraySlice<UInt8> {
        bytes(bytes.count - position)
    }
}

/// A property the code under test must keep. A violation traps, which
/// libFuzzer reports as a crash (and the regression tests as a failure).
func fuzzCheck(
    _ condition: @autoclosure () -> Bool,
    _ message: @autoclosure () -> String,
    file: StaticString = #fileID,
    line: UInt = #line
) {
    if !condition() {
        fatalError("fuzz property violated: \(message())", file: file, line: line)
    }
}

/// The fuzz targets: their names (the executables under `Fuzz/`, the
/// folders of `Fuzz/Corpus` and `Fuzz/Regressions`) and their functions.
package enum FuzzTarget: String, CaseIterable, Sendable {
    case wireSession = "FuzzWireSession"
    case engineRequests = "FuzzEngineRequests"
    case resp = "FuzzResp"
    case canonical = "FuzzCanonical"
    case lmdbRecord = "FuzzLMDBRecord"
    case writeAheadLog = "FuzzWriteAheadLog"

    /// Runs one input through the target.
    package func run(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { data in
            switch self {
            case .wireSession: fuzzWireSession(data)
            case .engineRequests: fuzzEngineRequests(data)
            case .resp: fuzzResp(data)
            case .canonical: fuzzCanonical(data)
            case .lmdbRecord: fuzzLMDBRecord(data)
            case .writeAheadLog: fuzzWriteAheadLog(data)
            }
        }
    }
}
