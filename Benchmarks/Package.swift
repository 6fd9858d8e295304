// swift-tools-version:6.1
import PackageDescription

// In-process benchmarks of the decision pipeline. Run: Benchmarks/run.sh (release build, pinned to one core).
// The main package is named explicitly: a path dependency's identity is its directory's name, which
// differs between checkouts; `name:` makes `package: main` resolve wherever the repository is cloned.
let main = "nonroot-admission"

let package = Package(
    name: "nonroot-admission-benchmarks",
    dependencies: [.package(name: main, path: "..")],
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
    ]
)
