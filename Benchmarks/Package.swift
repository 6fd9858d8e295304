// swift-tools-version:6.1
import PackageDescription

// In-process benchmarks of the decision pipeline. Run: Benchmarks/run.sh (release build, pinned to one core).
// The main package is named explicitly: a path dependency's identity is its directory's name, which
// differs between checkouts; `name:` makes `package: main` resolve wherever the repository is cloned.
let main = "nonroot-admission"

let package = Package(
    name: "nonroot-admission-benchmarks",
    dependencies: [
        .package(name: main, path: ".."),
        // The same versions the main package resolves, for the transport floor below.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.46.0"),
    ],
    targets: [
        .executableTarget(
            name: "DecideBenchmark",
            dependencies: [.product(name: "NonRootAdmissionCore", package: main)]
        ),
        // The worst reviews the apiserver can send, decided from bytes to response. Run: Benchmarks/worst-case.sh.
        .executableTarget(
            name: "WorstCaseBenchmark",
            dependencies: [.product(name: "NonRootAdmissionCore", package: main)]
        ),
        // Registry lookups against scripts/registry-fixture.sh. Run: Benchmarks/registry-bench.sh.
        .executableTarget(
            name: "RegistryBenchmark",
            dependencies: [
                .product(name: "NonRootAdmissionCore", package: main),
                .product(name: "NonRootAdmissionRegistry", package: main),
            ]
        ),
        // The SwiftNIO + swift-nio-ssl floor for the server benchmark: TLS, HTTP/1.1 or HTTP/2, a fixed answer.
        .executableTarget(
            name: "MinimalTLSServer",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
            ]
        ),
    ]
)
