// swift-tools-version:6.1
import PackageDescription

// Every Swift target: an import is internal unless marked `public import`, so a module's public API
// names exactly the modules its users need.
let swiftSettings: [SwiftSetting] = [.enableUpcomingFeature("InternalImportsByDefault")]

let package = Package(
    name: "nonroot-admission",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "nonroot-admission", targets: ["NonRootAdmissionCLI"]),
        // The decision pipeline without the server, for embedding and for Benchmarks/.
        .library(name: "NonRootAdmissionCore", targets: ["JSON", "AdmissionModel", "ImageConfig", "NonRootPolicy", "ImageResolution", "AdmissionCore"]),
        // The registry client, for Benchmarks/ and for embedding.
        .library(name: "NonRootAdmissionRegistry", targets: ["ImageRegistry"]),
        // The replay readers and the YAML module under them, for Fuzz/.
        .library(name: "NonRootAdmissionInput", targets: ["ReviewInput", "YAML"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        // Already in the graph through swift-nio-extras; used directly to read client certificate names.
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
    ],
    targets: [
        // The JSON parser's SSE2 string scan (static inline C: Swift's SIMD types do not vectorize it).
        .target(name: "CJSONScan"),
        // The JSON reader (a validating parser that writes a node tape under a memory budget) and writer. No I/O.
        .target(name: "JSON", dependencies: ["CJSONScan"], swiftSettings: swiftSettings),
        // The wire model: AdmissionReview, the Pod and workload subset. No I/O.
        .target(name: "AdmissionModel", dependencies: ["JSON"], swiftSettings: swiftSettings),
        // The user an image's config declares, what is known about an image's users, and Go's %q for
        // messages: what the policy and image knowledge share. No I/O.
        .target(name: "ImageConfig", swiftSettings: swiftSettings),
        // The kubelet's and Pod Security's rules as pure functions, one rule per file.
        .target(name: "NonRootPolicy", dependencies: ["AdmissionModel", "ImageConfig"], swiftSettings: swiftSettings),
        // LibYAML's parser, vendored (see Sources/CLibYAML/README.md), and a Swift composer over it
        // that needs no Foundation.
        .target(name: "CLibYAML", exclude: ["License", "README.md"], cSettings: [.define("YAML_DECLARE_STATIC")]),
        .target(name: "YAML", dependencies: ["CLibYAML"], swiftSettings: swiftSettings),
        // Image references and the image catalog: what is known about images without a network. No I/O.
        .target(name: "ImageResolution", dependencies: ["ImageConfig", "YAML"], swiftSettings: swiftSettings),
        // The registry client: OCI distribution over AsyncHTTPClient, auth, caches, single-flight, SSRF guards.
        .target(name: "ImageRegistry", dependencies: [
            "JSON", "ImageConfig", "ImageResolution", "YAML",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
        ], swiftSettings: swiftSettings),
        // Reads pull secrets from the API server as the kubelet does: in-cluster config, GET by name only, cached.
        .target(name: "KubernetesAPI", dependencies: [
            "JSON",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: swiftSettings),
        // The decision pipeline shared by the server and the command line: bytes in, response out.
        .target(name: "AdmissionCore", dependencies: ["JSON", "AdmissionModel", "ImageConfig", "NonRootPolicy"], swiftSettings: swiftSettings),
        // Readers for replay and check: JSON, JSON Lines, multi-document YAML, audit logs, manifests.
        .target(name: "ReviewInput", dependencies: ["JSON", "AdmissionModel", "YAML"], swiftSettings: swiftSettings),
        // The review recorder: the record format (an allowlisted AdmissionReview with its response, which
        // replay reads as any AdmissionReview), the bounded record directory, and the queue in front of it.
        .target(name: "ReviewRecording", dependencies: [
            "JSON", "AdmissionModel",
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: swiftSettings),
        // The webhook server: TLS (swift-nio-ssl), HTTP/1.1 and HTTP/2 by ALPN, metrics through swift-metrics
        // and /metrics, the recorder service, shutdown. The metrics backend is bootstrapped by the CLI.
        .target(name: "WebhookServer", dependencies: [
            "JSON", "AdmissionModel", "ImageConfig", "NonRootPolicy", "ImageResolution", "ImageRegistry", "AdmissionCore", "KubernetesAPI", "ReviewRecording",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOTLS", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOHTTP2", package: "swift-nio-http2"),
            .product(name: "NIOExtras", package: "swift-nio-extras"),
            .product(name: "NIOCertificateReloading", package: "swift-nio-extras"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], swiftSettings: swiftSettings),
        // The executable: ArgumentParser commands, and the process-wide logging and Prometheus metrics bootstraps.
        .executableTarget(name: "NonRootAdmissionCLI", dependencies: [
            "JSON", "AdmissionModel", "ImageConfig", "NonRootPolicy", "ImageResolution", "ImageRegistry", "AdmissionCore", "ReviewInput", "WebhookServer", "KubernetesAPI", "ReviewRecording",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ], swiftSettings: swiftSettings),
        .target(name: "TestSupport", path: "Tests/TestSupport", swiftSettings: swiftSettings),
        .testTarget(name: "JSONTests", dependencies: ["JSON", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "NonRootPolicyTests", dependencies: ["NonRootPolicy", "AdmissionModel", "JSON", "ImageConfig", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "ImageResolutionTests", dependencies: ["ImageResolution", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "ImageRegistryTests", dependencies: ["ImageRegistry", "ImageConfig", "ImageResolution", "NonRootPolicy", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "KubernetesAPITests", dependencies: ["KubernetesAPI", "TestSupport"], exclude: ["Support/fake-apiserver.py"], swiftSettings: swiftSettings),
        .testTarget(name: "AdmissionCoreTests", dependencies: ["AdmissionCore", "AdmissionModel", "ImageConfig", "NonRootPolicy", "ImageResolution", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "YAMLTests", dependencies: ["YAML"], swiftSettings: swiftSettings),
        .testTarget(name: "ReviewInputTests", dependencies: ["ReviewInput", "AdmissionModel", "JSON"], swiftSettings: swiftSettings),
        .testTarget(name: "EndToEndTests", dependencies: ["TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "WebhookServerTests", dependencies: [
            "WebhookServer", "ReviewRecording", "AdmissionModel", "JSON", "AdmissionCore", "ImageRegistry", "ImageResolution", "NonRootPolicy",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOTLS", package: "swift-nio"),
            .product(name: "NIOHTTP2", package: "swift-nio-http2"),
        ], swiftSettings: swiftSettings),
        .testTarget(name: "ServerIntegrationTests", dependencies: ["TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "InstallTests", dependencies: ["TestSupport"], swiftSettings: swiftSettings),
    ]
)
