// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "ash-store",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "AshCore", targets: ["AshCore"]),
        .library(name: "AshStore", targets: ["AshStore"]),
        .library(name: "AshTesting", targets: ["AshTesting"]),
        .library(name: "AshEngine", targets: ["AshEngine"]),
        .library(name: "AshLMDB", targets: ["AshLMDB"]),
        .library(name: "AshPostgres", targets: ["AshPostgres"]),
        .library(name: "AshRedis", targets: ["AshRedis"]),
        .library(name: "AshClient", targets: ["AshClient"]),
        // HTTP: framework-neutral protection, settings, and the Hummingbird
        // integration. Separate products, so that embedding the engine never
        // builds (nor, with target-based resolution, fetches) a web framework.
        .library(name: "AshHTTP", targets: ["AshHTTP"]),
        .library(name: "AshSettings", targets: ["AshSettings"]),
        .library(name: "AshHummingbird", targets: ["AshHummingbird"]),
        .library(name: "AshVapor", targets: ["AshVapor"]),
        // Client side: the headers a protected request carries, and callers
        // that fetch a context and send the request (URLSession; AsyncHTTPClient).
        .library(name: "AshFetch", targets: ["AshFetch"]),
        .library(name: "AshFetchAsyncHTTPClient", targets: ["AshFetchAsyncHTTPClient"]),
        .executable(name: "ashd", targets: ["ashd"]),
        .executable(name: "ash", targets: ["ash"]),
        .executable(name: "ash-bench", targets: ["ash-bench"]),
        .executable(name: "ash-demo", targets: ["ash-demo"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/vapor/vapor.git", from: "4.122.3"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    ],
    targets: [
        // ASH v1 primitives: no I/O.
        .target(
            name: "AshCore",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")]
        ),
        // The store contract, createContext and verifyRequest on top of it.
        .target(
            name: "AshStore",
            dependencies: [
                "AshCore",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        // Sharded actors, timer wheels, exactly-once consume; persistence protocol.
        .target(
            name: "AshEngine",
            dependencies: [
                "AshCore", "AshStore",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: [.define("ASH_INTERNAL_CHECKS", .when(configuration: .debug))]
        ),
        // LMDB (Debian liblmdb-dev) and the persistence backend on it.
        .systemLibrary(name: "CLMDB", pkgConfig: "lmdb", providers: [.apt(["liblmdb-dev"])]),
        .target(
            name: "AshLMDB",
            dependencies: [
                "AshCore", "AshStore", "AshEngine", "CLMDB",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // A child process for the crash test: writes, acknowledges, gets killed.
        .executableTarget(name: "ash-crash-child", dependencies: ["AshCore", "AshEngine", "AshLMDB"]),
        // Our binary protocol: messages, codec, session state machines. NIOCore only, no I/O.
        .target(
            name: "AshWire",
            dependencies: ["AshCore", "AshStore", .product(name: "NIOCore", package: "swift-nio")]
        ),
        // NIO glue shared by the clients, the server and ash-bench.
        .target(
            name: "AshNIOSupport",
            dependencies: ["AshStore", .product(name: "NIOCore", package: "swift-nio")]
        ),
        // RESP client on SwiftNIO and the Redis ContextStore (JavaScript SDK's value format).
        .target(
            name: "AshRedis",
            dependencies: [
                "AshCore", "AshStore", "AshNIOSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // PostgreSQL ContextStore over postgres-nio.
        .target(
            name: "AshPostgres",
            dependencies: [
                "AshCore", "AshStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "_ConnectionPoolModule", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // The Linux headers of ashd's epoll transport that Glibc does not export.
        .target(name: "CAshEpoll"),
        // The server ashd runs: its epoll transport (plain TCP) and SwiftNIO's (TLS), limits,
        // auth, admin HTTP (health, metrics).
        .target(
            name: "AshDaemon",
            dependencies: [
                "AshCore", "AshStore", "AshEngine", "AshLMDB", "AshWire", "AshNIOSupport", "CAshEpoll",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "ashd",
            dependencies: [
                "AshDaemon", "AshEngine", "AshLMDB", "AshStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        // The Swift client for ashd (pool, pipelining, reconnect), itself a ContextStore.
        .target(
            name: "AshClient",
            dependencies: [
                "AshCore", "AshStore", "AshWire", "AshNIOSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Protecting HTTP routes on swift-http-types, with no web framework:
        // verification, issuance, rate limiting, health, error bodies, metrics.
        .target(
            name: "AshHTTP",
            dependencies: [
                "AshCore", "AshStore",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        // Settings from the environment (the deployment guide's names) and the
        // one factory that turns them into a running store.
        .target(
            name: "AshSettings",
            dependencies: [
                "AshCore", "AshStore", "AshEngine", "AshLMDB", "AshClient", "AshRedis", "AshPostgres",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Hummingbird 2 on top of AshHTTP.
        .target(
            name: "AshHummingbird",
            dependencies: [
                "AshCore", "AshStore", "AshHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        // Vapor 4 on top of AshHTTP: the same verification, routes and answers.
        .target(
            name: "AshVapor",
            dependencies: [
                "AshCore", "AshStore", "AshHTTP",
                .product(name: "Vapor", package: "vapor"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // What a client of protected routes needs: headers as the reference
        // client makes them, and a URLSession caller.
        .target(name: "AshFetch", dependencies: ["AshCore"]),
        .target(
            name: "AshFetchAsyncHTTPClient",
            dependencies: [
                "AshCore", "AshFetch",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // The example application: issuance, a protected transfer, health,
        // metrics and a web page (a library, so tests can run it in-process).
        .target(
            name: "AshDemo",
            dependencies: [
                "AshCore", "AshStore", "AshHTTP", "AshSettings", "AshHummingbird",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "ash-demo",
            dependencies: [
                "AshDemo",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The contract suite every store runs against itself; test clocks.
        .target(name: "AshTesting", dependencies: ["AshCore", "AshStore"]),
        // Runs reference test vectors against AshCore.
        .target(name: "AshConformance", dependencies: ["AshCore"]),
        .executableTarget(
            name: "ash",
            dependencies: [
                "AshCore", "AshStore", "AshConformance", "AshClient", "AshWire", "AshRedis", "AshPostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        // Whole-system benchmark: one workload, several stores, one run.
        .target(
            name: "AshBenchKit",
            dependencies: [
                "AshCore", "AshStore", "AshEngine", "AshLMDB", "AshWire", "AshClient", "AshRedis", "AshPostgres",
                "AshNIOSupport",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "ash-bench",
            dependencies: [
                "AshBenchKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // libFuzzer harnesses as plain functions: the Fuzz/ executables call
        // them, and AshFuzzingTests replays the committed corpus through them.
        .target(
            name: "AshFuzzing",
            dependencies: [
                "AshCore", "AshStore", "AshEngine", "AshLMDB", "AshWire", "AshRedis", "AshDaemon",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "AshCoreTests",
            dependencies: ["AshCore", .product(name: "PropertyBased", package: "swift-property-based")]
        ),
        .testTarget(
            name: "AshBenchKitTests",
            dependencies: [
                "AshBenchKit", "AshPostgres", "AshCore", "AshStore", "AshEngine",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        .testTarget(
            name: "AshConformanceTests",
            dependencies: ["AshConformance", "AshCore", "AshFetch"],
            resources: [.copy("Resources/ash-v1-public-vectors.json")]
        ),
        .testTarget(
            name: "AshStoreTests",
            dependencies: [
                "AshCore", "AshStore", "AshTesting",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "AshEngineTests",
            dependencies: [
                "AshCore", "AshStore", "AshEngine", "AshTesting",
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "AshWireTests",
            dependencies: [
                "AshCore", "AshStore", "AshWire", "AshTesting",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "AshNIOSupportTests",
            dependencies: [
                "AshNIOSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "AshRedisTests",
            dependencies: [
                "AshRedis", "AshCore", "AshStore", "AshTesting",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .testTarget(
            name: "AshDaemonTests",
            dependencies: [
                "AshCore", "AshStore", "AshEngine", "AshLMDB", "AshWire", "AshDaemon", "AshTesting",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "AshClientTests",
            dependencies: [
                "AshCore", "AshStore", "AshEngine", "AshLMDB", "AshWire", "AshDaemon", "AshClient", "AshTesting",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "AshFuzzingTests", dependencies: ["AshFuzzing"]),
        .testTarget(
            name: "AshHTTPTests",
            dependencies: [
                "AshCore", "AshStore", "AshHTTP", "AshSettings", "AshTesting",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ]
        ),
        // HTTP end to end on every store and both frameworks: live servers on
        // loopback, the Python reference client and the Swift callers, the
        // demo's page in headless Chromium.
        .testTarget(
            name: "AshHTTPIntegrationTests",
            dependencies: [
                "AshCore", "AshStore", "AshHTTP", "AshSettings", "AshHummingbird", "AshVapor", "AshDemo", "AshEngine",
                "AshLMDB", "AshClient", "AshDaemon", "AshRedis", "AshPostgres", "AshTesting", "AshFetch",
                "AshFetchAsyncHTTPClient",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Vapor", package: "vapor"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            resources: [.copy("Resources/ash_headers.py")]
        ),
        .testTarget(
            name: "AshLMDBTests", dependencies: ["AshCore", "AshStore", "AshEngine", "AshLMDB", "AshTesting", "CLMDB"]),
        .testTarget(
            name: "AshPostgresTests",
            dependencies: [
                "AshCore", "AshStore", "AshPostgres", "AshTesting",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

for target in package.targets where target.type != .system {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.enableUpcomingFeature("MemberImportVisibility"))
    target.swiftSettings = settings
}

// Benchmarks (ordo-one/package-benchmark) are built only on request, so the
// everyday build does not fetch or compile the harness:
//   ASH_BENCHMARKS=1 swift package benchmark
if Context.environment["ASH_BENCHMARKS"] != nil {
    package.dependencies.append(
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.0", traits: ["MallocInterposer"]))
    package.targets.append(
        .executableTarget(
            name: "EngineBenchmarks",
            dependencies: ["AshCore", "AshStore", "AshEngine", .product(name: "Benchmark", package: "benchmark")],
            path: "Benchmarks/EngineBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ))
    package.targets.append(
        .executableTarget(
            name: "PersistenceBenchmarks",
            dependencies: [
                "AshCore", "AshStore", "AshEngine", "AshLMDB", .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/PersistenceBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ))
    package.targets.append(
        .executableTarget(
            name: "CoreBenchmarks",
            dependencies: [
                "AshCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/CoreBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ))
    package.targets.append(
        .executableTarget(
            name: "WireBenchmarks",
            dependencies: [
                "AshCore", "AshStore", "AshWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/WireBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ))
    // The wheel is generic and not @inlinable: built with whole cross-module
    // optimization here, the benchmark calls the same specialized code the
    // shards run (unsafe flags: benchmark builds only, never a dependency's).
    if let engine = package.targets.first(where: { $0.name == "AshEngine" }) {
        engine.swiftSettings = (engine.swiftSettings ?? []) + [.unsafeFlags(["-cross-module-optimization"])]
    }
    package.targets.append(
        .executableTarget(
            name: "WheelBenchmarks",
            dependencies: ["AshEngine", .product(name: "Benchmark", package: "benchmark")],
            path: "Benchmarks/WheelBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ))
}

// libFuzzer executables (Fuzz/<Name>/), built only on request and with the
// sanitizers passed on the command line; `make fuzz` (scripts/fuzz.sh) does:
//   ASH_FUZZ=1 swift build --scratch-path .build-fuzz --product FuzzResp \
//     -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
if Context.environment["ASH_FUZZ"] != nil {
    package.targets.append(.target(name: "CFuzzerDriver", path: "Fuzz/CFuzzerDriver"))
    for name in [
        "FuzzWireSession", "FuzzEngineRequests", "FuzzResp", "FuzzCanonical", "FuzzLMDBRecord", "FuzzWriteAheadLog",
    ] {
        package.targets.append(
            .executableTarget(
                name: name,
                dependencies: ["AshFuzzing", "CFuzzerDriver"],
                path: "Fuzz/\(name)",
                swiftSettings: [
                    .enableUpcomingFeature("ExistentialAny"), .enableUpcomingFeature("MemberImportVisibility"),
                ]
            ))
    }
}
