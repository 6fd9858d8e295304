// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "nonroot-admission",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "nonroot-admission", targets: ["NonRootAdmissionCLI"]),
        // The decision pipeline without the server, for embedding and for Benchmarks/.
        .library(name: "NonRootAdmissionCore", targets: ["AdmissionModel", "NonRootPolicy", "ImageResolution", "AdmissionCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // The wire model: JSON reader and writer, AdmissionReview, the Pod and workload subset. No I/O.
        .target(name: "AdmissionModel"),
        // The kubelet's and Pod Security's rules as pure functions, one rule per file.
        .target(name: "NonRootPolicy", dependencies: ["AdmissionModel"]),
        // Image references, the image catalog and, later, the registry client and cache.
        .target(name: "ImageResolution", dependencies: [
            "AdmissionModel", "NonRootPolicy",
            .product(name: "Yams", package: "Yams"),
        ]),
        // The decision pipeline shared by the server and the command line: bytes in, response out.
        .target(name: "AdmissionCore", dependencies: ["AdmissionModel", "NonRootPolicy", "ImageResolution"]),
        // Readers for replay and check: JSON, JSON Lines, multi-document YAML, audit logs, manifests.
        .target(name: "ReviewInput", dependencies: [
            "AdmissionModel",
            .product(name: "Yams", package: "Yams"),
        ]),
        .executableTarget(name: "NonRootAdmissionCLI", dependencies: [
            "AdmissionModel", "NonRootPolicy", "ImageResolution", "AdmissionCore", "ReviewInput",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "AdmissionModelTests", dependencies: ["AdmissionModel", "TestSupport"]),
        .testTarget(name: "NonRootPolicyTests", dependencies: ["NonRootPolicy", "AdmissionModel", "TestSupport"]),
        .testTarget(name: "ImageResolutionTests", dependencies: ["ImageResolution", "NonRootPolicy"]),
        .testTarget(name: "AdmissionCoreTests", dependencies: ["AdmissionCore", "AdmissionModel", "NonRootPolicy", "ImageResolution", "ReviewInput", "TestSupport"]),
        .testTarget(name: "ReviewInputTests", dependencies: ["ReviewInput", "AdmissionModel"]),
        .testTarget(name: "EndToEndTests", dependencies: ["AdmissionModel", "TestSupport"]),
    ]
)
