// swift-tools-version:6.1
import PackageDescription

// In-process benchmarks of the decision pipeline. Run: Benchmarks/run.sh (release build, pinned to one core).
let package = Package(
    name: "nonroot-admission-benchmarks",
    dependencies: [.package(path: "..")],
    targets: [
        .executableTarget(
            name: "DecideBenchmark",
            dependencies: [.product(name: "NonRootAdmissionCore", package: "main")]
        ),
        // Registry lookups against scripts/registry-fixture.sh. Run: Benchmarks/registry-bench.sh.
        .executableTarget(
            name: "RegistryBenchmark",
            dependencies: [
                .product(name: "NonRootAdmissionCore", package: "main"),
                .product(name: "NonRootAdmissionRegistry", package: "main"),
            ]
        ),
    ]
)
