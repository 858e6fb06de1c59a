import AshCore
import Benchmark
import Crypto

// AshCore's per-request work: JSON and form canonicalization, binding
// normalization, hashing the body, building a proof and verifying one
// (canonicalize, rebuild, constant-time compare: steps 5 to 7 of the
// protocol's verification, without the store).
//
// Each iteration runs the operation 1,000 times (the scaling factor); the
// tool divides by it, so throughput and the starred metrics are per
// operation.

/// A typical transfer request body: 330 bytes of JSON with nested objects,
/// an array, a non-ASCII string, unsorted keys and a fractional number.
let jsonBody = Array(
    #"""
    {"to":{"name":"Bob Martin","iban":"FR1420041010050500013M02606","bic":"BNPAFRPP"},"amount":1250.75,\#
    "currency":"EUR","from":{"name":"Alice Müller","iban":"DE89370400440532013000"},\#
    "reference":"Invoice 2026-0042","tags":["urgent","b2b"],"scheduledAt":"2026-11-29T10:00:00Z",\#
    "metadata":{"source":"web","attempt":1,"confirmed":true}}
    """#.utf8)

/// A search query string: `+` for spaces, percent escapes (one of them
/// UTF-8), ten unsorted pairs.
let queryString =
    "q=swift+server+benchmarks&page=2&sort=desc&filter%5Bstatus%5D=active&filter%5Btype%5D=card"
    + "&lang=de-DE&city=M%C3%BCnchen&utm_source=newsletter&amount=12.50"

/// 16 bytes in base64url, 22 characters, like a real context id and nonce.
let contextId = "YXNoLWJlbmNoLWN0eC0wMQ"
let nonce = "YXNoLWJlbmNoLW5vbmNlMQ"
let binding = "POST /api/v1/accounts/42/transfers"

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .mallocCountTotal],
        scalingFactor: .kilo,
        maxDuration: .seconds(2),
        maxIterations: 1_000
    )

    let canonicalBody = (try? AshCanonicalJSON.canonicalize(utf8: jsonBody)) ?? ""
    precondition(!canonicalBody.isEmpty, "the sample body must canonicalize")
    let proof = AshProof.build(
        mode: .balanced, binding: binding, contextId: contextId, nonce: nonce, canonicalPayload: canonicalBody)

    // As verification does it: by Content-Type, with the body as `[UInt8]`.
    Benchmark("JSON canonicalize (\(jsonBody.count)-byte body, by Content-Type)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try AshPayload.canonicalize(identity(jsonBody), contentType: "application/json"))
        }
    }

    // The generic entry point called from another module runs unspecialized
    // (AshCore is not `@inlinable`): what a caller outside AshCore pays.
    Benchmark("JSON canonicalize (\(jsonBody.count)-byte body, generic canonicalize(utf8:))") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try AshCanonicalJSON.canonicalize(utf8: identity(jsonBody)))
        }
    }

    Benchmark("form canonicalize (\(queryString.utf8.count)-byte query, 10 pairs)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try AshCanonicalForm.canonicalize(identity(queryString)))
        }
    }

    Benchmark("binding normalize") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(
                AshBinding.normalize(
                    method: identity("post"), path: identity("/api/v1/accounts/42//transfers/?dryRun=false")))
        }
    }

    Benchmark("body hash (SHA-256 of the \(jsonBody.count)-byte body)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(SHA256.hash(data: identity(jsonBody)))
        }
    }

    Benchmark("proof build (canonical body given)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(
                AshProof.build(
                    mode: .balanced, binding: binding, contextId: identity(contextId), nonce: nonce,
                    canonicalPayload: canonicalBody))
        }
    }

    Benchmark("proof verify (canonicalize JSON body, build, compare)") { benchmark in
        for _ in benchmark.scaledIterations {
            let canonical = try AshPayload.canonicalize(
                identity(jsonBody), contentType: "application/json; charset=utf-8")
            let expected = AshProof.build(
                mode: .balanced, binding: binding, contextId: contextId, nonce: nonce, canonicalPayload: canonical)
            let matches = AshProof.timingSafeEqual(expected, identity(proof))
            precondition(matches, "the proof must verify")
            blackHole(matches)
        }
    }
}
