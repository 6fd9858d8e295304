import Foundation
import Testing
import TestSupport

/// The Dockerfile's build, without Docker: the files its COPY lines take (as .dockerignore leaves
/// them) are laid out in `.build-install/context`, built with `swift build -c release
/// --static-swift-stdlib --product nonroot-admission` into `.build-install/scratch`, and the binary's
/// `ldd` must ask only for what distroless `cc-debian12` holds.
///
/// It takes several minutes on two cores, so it runs only with NONROOT_INSTALL_STATIC_BUILD=1
/// (scripts/test.sh does not set it).
@Suite("static release build", .enabled(if: ProcessInfo.processInfo.environment["NONROOT_INSTALL_STATIC_BUILD"] == "1",
                                        "set NONROOT_INSTALL_STATIC_BUILD=1 to run the release build with --static-swift-stdlib"))
struct StaticBuildTests {
    /// The shared objects distroless cc-debian12 ships (libc6, libgcc-s1, libstdc++6) that a
    /// static-stdlib Swift binary may need.
    static let allowedLibraries = ["linux-vdso.so", "libc.so", "libm.so", "libstdc++.so", "libgcc_s.so", "ld-linux-x86-64.so", "ld-linux-aarch64.so"]

    @Test func staticStdlibReleaseBinaryNeedsOnlyWhatDistrolessCCHas() async throws {
        let base = Install.root.appendingPathComponent(".build-install")
        let context = base.appendingPathComponent("context")
        let scratchPath = base.appendingPathComponent("scratch").path
        try Self.layOutDockerContext(at: context)

        // The Dockerfile's static-zlib folder (see its comment), made the same way.
        let staticLibs = base.appendingPathComponent("static-libs")
        try? FileManager.default.removeItem(at: staticLibs)
        try FileManager.default.createDirectory(at: staticLibs, withIntermediateDirectories: true)
        let zlib = try await Shell.check("find", ["/usr/lib", "-name", "libz.a"]).split(separator: "\n").first.map(String.init)
        try FileManager.default.createSymbolicLink(atPath: staticLibs.appendingPathComponent("libz.a").path,
                                                   withDestinationPath: try #require(zlib, "zlib1g-dev is needed for libz.a"))
        let dockerfile = try String(contentsOf: Install.root.appendingPathComponent("Dockerfile"), encoding: .utf8)
        #expect(dockerfile.contains("--static-swift-stdlib --product nonroot-admission -Xlinker -L/tmp/static-libs"))

        let build = try await Shell.run("swift", [
            "build", "-c", "release", "--static-swift-stdlib", "--product", "nonroot-admission", "--scratch-path", scratchPath,
            "-Xlinker", "-L" + staticLibs.path,
        ], in: context, timeout: .seconds(3600))
        #expect(build.succeeded, "\(build)")
        let binPath = try await Shell.check("swift", ["build", "-c", "release", "--scratch-path", scratchPath, "--show-bin-path"], in: context)
        let binary = binPath.trimmingCharacters(in: .whitespacesAndNewlines) + "/nonroot-admission"
        #expect(FileManager.default.isExecutableFile(atPath: binary))

        let ldd = try await Shell.check("ldd", [binary])
        let libraries = ldd.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        for library in libraries {
            let name = String(library.split(separator: " ").first ?? "")
            let soname = URL(fileURLWithPath: name).lastPathComponent
            #expect(Self.allowedLibraries.contains { soname.hasPrefix($0) }, "\(soname) is not in distroless cc:\n\(ldd)")
            #expect(!library.contains("not found"), "\(library)")
        }
        #expect(!ldd.contains("libswift"), "the Swift runtime must be linked statically:\n\(ldd)")
        #expect(!ldd.contains("libFoundation"), "\(ldd)")

        // It runs: the version and the serve help (no shell, no files needed).
        let version = try await Shell.check(binary, ["--version"])
        #expect(version.trimmingCharacters(in: .whitespacesAndNewlines) == "0.1.0")
        let help = try await Shell.check(binary, ["serve", "--help"])
        #expect(help.contains("--tls-cert-file"))

        // Recorded for the report: the size as built and as the Dockerfile's `strip` leaves it.
        let stripped = base.appendingPathComponent("nonroot-admission.stripped").path
        try? FileManager.default.removeItem(atPath: stripped)
        try FileManager.default.copyItem(atPath: binary, toPath: stripped)
        try await Shell.check("strip", [stripped])
        let size = { (path: String) -> Int in ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0 }
        print("static build: \(binary) \(size(binary)) bytes, stripped \(size(stripped)) bytes\nldd:\n\(ldd)")
        // 40.9 MB stripped with FoundationEssentials only (80.8 MB while Yams linked Foundation and ICU);
        // the bound catches Foundation coming back through a dependency.
        #expect(size(stripped) > 0)
        #expect(size(stripped) < 45_000_000, "stripped binary is \(size(stripped)) bytes; did Foundation (ICU) come back?")
    }

    /// Package.swift, Package.resolved, Sources/ and Tests/TestSupport, plus an empty folder for every
    /// other test target: what `COPY Package.* ./`, `COPY Sources` and `COPY Tests` receive through
    /// .dockerignore. Modification times are kept, so a second run rebuilds only what changed.
    static func layOutDockerContext(at context: URL) throws {
        let files = FileManager.default
        try files.createDirectory(at: context, withIntermediateDirectories: true)
        for name in ["Package.swift", "Package.resolved", "Sources", "Tests"] {
            try? files.removeItem(at: context.appendingPathComponent(name))
        }
        try Shell.copyPreservingTimes(Install.root.appendingPathComponent("Package.swift"), to: context.appendingPathComponent("Package.swift"))
        if files.fileExists(atPath: Install.root.appendingPathComponent("Package.resolved").path) {
            try Shell.copyPreservingTimes(Install.root.appendingPathComponent("Package.resolved"), to: context.appendingPathComponent("Package.resolved"))
        }
        try Shell.copyPreservingTimes(Install.root.appendingPathComponent("Sources"), to: context.appendingPathComponent("Sources"))
        let tests = Install.root.appendingPathComponent("Tests")
        for target in try files.contentsOfDirectory(atPath: tests.path) {
            var isDirectory: ObjCBool = false
            guard files.fileExists(atPath: tests.appendingPathComponent(target).path, isDirectory: &isDirectory), isDirectory.boolValue else { continue }
            try files.createDirectory(at: context.appendingPathComponent("Tests/\(target)"), withIntermediateDirectories: true)
        }
        try files.removeItem(at: context.appendingPathComponent("Tests/TestSupport"))
        try Shell.copyPreservingTimes(tests.appendingPathComponent("TestSupport"), to: context.appendingPathComponent("Tests/TestSupport"))
    }
}

extension Shell {
    /// `cp -a`: keeps modification times, so SwiftPM sees unchanged sources as unchanged.
    static func copyPreservingTimes(_ source: URL, to destination: URL) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/cp")
        process.arguments = ["-a", source.path, destination.path]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw InstallTestError("cp -a \(source.path) \(destination.path) failed") }
    }
}
