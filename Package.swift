// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "ash-store",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "AshCore", targets: ["AshCore"]),
        .library(name: "AshStore", targets: ["AshStore"]),
        .library(name: "AshTesting", targets: ["AshTesting"]),
        .library(name: "AshConformance", targets: ["AshConformance"]),
        .library(name: "AshEngine", targets: ["AshEngine"]),
        .executable(name: "ash", targets: ["ash"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        // ASH v1 primitives: no I/O.
        .target(
            name: "AshCore",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")]
        ),
        // The store contract, createContext and verifyRequest on top of it.
        .target(name: "AshStore", dependencies: ["AshCore"]),
        // Sharded actors, timer wheels, exactly-once consume; persistence protocol.
        .target(
            name: "AshEngine",
            dependencies: [
                "AshCore", "AshStore",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: [.define("ASH_INTERNAL_CHECKS", .when(configuration: .debug))]
        ),
        // The contract suite every store runs against itself; test clocks.
        .target(name: "AshTesting", dependencies: ["AshCore", "AshStore"]),
        // Runs reference test vectors against AshCore.
        .target(name: "AshConformance", dependencies: ["AshCore"]),
        .executableTarget(
            name: "ash",
            dependencies: [
                "AshCore",
                "AshConformance",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "AshCoreTests", dependencies: ["AshCore"]),
        .testTarget(
            name: "AshConformanceTests",
            dependencies: ["AshConformance"],
            resources: [.copy("Resources/ash-v1-public-vectors.json")]
        ),
        .testTarget(name: "AshStoreTests", dependencies: ["AshCore", "AshStore", "AshTesting"]),
        .testTarget(name: "AshEngineTests", dependencies: ["AshCore", "AshStore", "AshEngine", "AshTesting"]),
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
            dependencies: ["AshCore", "AshEngine", .product(name: "Benchmark", package: "benchmark")],
            path: "Benchmarks/EngineBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ))
}
