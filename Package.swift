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
        .executable(name: "ash", targets: ["ash"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    ],
    targets: [
        // ASH v1 primitives: no I/O.
        .target(
            name: "AshCore",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")]
        ),
        // The store contract, createContext and verifyRequest on top of it.
        .target(name: "AshStore", dependencies: ["AshCore"]),
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
    ],
    swiftLanguageModes: [.v6]
)

for target in package.targets where target.type != .system {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.enableUpcomingFeature("MemberImportVisibility"))
    target.swiftSettings = settings
}
