// swift-tools-version:5.4
import PackageDescription

// libFuzzer targets for the main package. Run: scripts/fuzz.sh [--short | --long [SECONDS]] (see RESULTS.md).
//
// Two deliberate choices:
// - Tools version 5.4, not 6.x: from 5.5 on, SwiftPM compiles an executable target's entry point as
//   `<Target>_main` and links with `--defsym main=<Target>_main`, which replaces libFuzzer's own `main`
//   (the link fails with "undefined symbol 'FuzzReview_main'"). With 5.4 it does not rename, so each
//   target is just `LLVMFuzzerTestOneInput` and libFuzzer supplies `main`.
// - The main package is named explicitly: a path dependency's identity is its directory's name
//   (`main` in one checkout, something else in a CI clone); `name:` makes products resolvable as
//   `package: "nonroot-admission"` wherever the repository is cloned.
//
// Build flags come from scripts/fuzz.sh: `-Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library`.
let main = "nonroot-admission"
let core = Target.Dependency.product(name: "NonRootAdmissionCore", package: main)
let registry = Target.Dependency.product(name: "NonRootAdmissionRegistry", package: main)
let input = Target.Dependency.product(name: "NonRootAdmissionInput", package: main)

let package = Package(
    name: "nonroot-admission-fuzz",
    dependencies: [.package(name: main, path: "..")],
    targets: [
        // Shared helpers: checks that trap with a message, input slicing.
        .target(name: "FuzzSupport", dependencies: []),
        .executableTarget(name: "FuzzReview", dependencies: ["FuzzSupport", core]),
        .executableTarget(name: "FuzzJSONDifferential", dependencies: ["FuzzSupport", core]),
        .executableTarget(name: "FuzzImageReference", dependencies: ["FuzzSupport", core]),
        .executableTarget(name: "FuzzImageUser", dependencies: ["FuzzSupport", core]),
        .executableTarget(name: "FuzzRegistryDocuments", dependencies: ["FuzzSupport", core, registry]),
        .executableTarget(name: "FuzzReviewInput", dependencies: ["FuzzSupport", core, input]),
        .executableTarget(name: "FuzzYAML", dependencies: ["FuzzSupport", core, input]),
    ]
)
