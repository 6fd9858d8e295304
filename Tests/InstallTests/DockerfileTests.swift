import Foundation
import Testing
import TestSupport

/// The Dockerfile cannot be built here (no Docker engine); what can be checked without one is.
@Suite("Dockerfile")
struct DockerfileTests {
    static func load() throws -> Dockerfile {
        Dockerfile(try String(contentsOf: Install.root.appendingPathComponent("Dockerfile"), encoding: .utf8))
    }

    /// Whether an image reference is pinned: by digest, or by a tag that names an exact version
    /// (digits and dots, e.g. 6.3.1-bookworm), never a moving tag such as latest or a bare major.
    static func isPinned(_ image: String) -> Bool {
        if let at = image.range(of: "@sha256:") {
            let digest = image[at.upperBound...]
            return digest.count == 64 && digest.allSatisfy { $0.isHexDigit && !$0.isUppercase }
        }
        let lastComponent = image.split(separator: "/").last.map(String.init) ?? image
        guard let colon = lastComponent.lastIndex(of: ":") else { return false }
        let tag = lastComponent[lastComponent.index(after: colon)...]
        // An exact version: at least MAJOR.MINOR.PATCH.
        guard let version = tag.split(separator: "-").first else { return false }
        let numbers = version.split(separator: ".")
        return numbers.count >= 3 && numbers.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) }
    }

    @Test func pinningRulesAreStrict() {
        #expect(Self.isPinned("swift:6.3.1-bookworm"))
        #expect(Self.isPinned("gcr.io/distroless/cc-debian12:nonroot@sha256:9dac0a79194e45a7da0158a9c6da57b217585af0786db3845d1f0ec1a0dd182f"))
        #expect(!Self.isPinned("swift:6.3-bookworm"))
        #expect(!Self.isPinned("swift"))
        #expect(!Self.isPinned("swift:latest"))
        #expect(!Self.isPinned("gcr.io/distroless/cc-debian12:nonroot"))
        #expect(!Self.isPinned("localhost:5000/swift"))
        #expect(!Self.isPinned("gcr.io/distroless/cc-debian12@sha256:abc"))
    }

    @Test func everyBaseImageIsPinned() throws {
        let dockerfile = try Self.load()
        #expect(dockerfile.stages.count >= 2, "multi-stage: a build stage and a runtime stage")
        let stageNames = Set(dockerfile.stages.compactMap(\.name))
        for stage in dockerfile.stages where !stageNames.contains(stage.image) {
            #expect(Self.isPinned(stage.image), "line \(stage.from.line): FROM \(stage.image) is not pinned by digest or exact tag")
        }
        // The build stage is the official Swift image, building the static-stdlib release binary.
        let build = try #require(dockerfile.stages.first)
        #expect(build.image.hasPrefix("swift:"), "\(build.image)")
        let runs = build.instructions.filter { $0.keyword == "RUN" }.map(\.arguments).joined(separator: "\n")
        #expect(runs.contains("swift build -c release --static-swift-stdlib --product nonroot-admission"), "\(runs)")
        // The runtime is distroless cc (glibc, libstdc++, libgcc_s: what ldd asks for; see StaticBuildTests).
        let runtime = try #require(dockerfile.finalStage)
        #expect(runtime.image.hasPrefix("gcr.io/distroless/cc-debian12"), "\(runtime.image)")
    }

    @Test func lastUserIsNumericAndNotRoot() throws {
        let dockerfile = try Self.load()
        let user = try #require(dockerfile.finalUser, "the final stage sets no USER")
        // USER uid[:gid]: both parts numeric, the uid not 0.
        let parts = user.resolved.split(separator: ":", omittingEmptySubsequences: false)
        #expect(parts.count <= 2)
        let uid = try #require(UInt32(parts[0]), "USER \(user.written) resolves to \(user.resolved), not a number")
        #expect(uid != 0)
        if parts.count == 2 { #expect(UInt32(parts[1]) != nil, "the group of USER \(user.resolved) is not numeric") }
        // Set through APP_UID, as the .NET team's guidance has it.
        #expect(user.written == "$APP_UID" || user.written == "${APP_UID}", "USER \(user.written)")
        #expect(user.resolved == "65532", "the manifests' runAsUser is 65532")
    }

    /// Full Foundation brings ICU and its data: 80.8 MB stripped against 40.9 MB without it. The debug
    /// binary links Swift's libraries dynamically, so `ldd` shows which Foundation it needs.
    @Test func shippedBinaryLinksNoFullFoundation() async throws {
        let ldd = try await Shell.check("ldd", [Install.executable])
        #expect(ldd.contains("libFoundationEssentials.so"), "\(ldd)")
        for library in ["libFoundation.so", "libFoundationInternationalization.so", "lib_FoundationICU.so", "libFoundationNetworking.so"] {
            #expect(!ldd.contains(library), "\(library) is linked; a module imports Foundation instead of FoundationEssentials:\n\(ldd)")
        }
    }

    @Test func runtimeStageNeedsNoShell() throws {
        let dockerfile = try Self.load()
        let runtime = try #require(dockerfile.finalStage)
        #expect(!runtime.instructions.contains { $0.keyword == "RUN" }, "a RUN in the runtime stage needs a shell")
        let entrypoint = try #require(runtime.instructions.last { $0.keyword == "ENTRYPOINT" })
        #expect(entrypoint.arguments == #"["/usr/local/bin/nonroot-admission", "serve"]"#, "exec form, no shell: \(entrypoint.arguments)")
        #expect(!runtime.instructions.contains { $0.keyword == "CMD" && !$0.arguments.hasPrefix("[") })
        let exposed = runtime.instructions.filter { $0.keyword == "EXPOSE" }.flatMap { $0.arguments.split(separator: " ").map(String.init) }
        #expect(Set(exposed) == ["8443", "8080"], "\(exposed)")
        let copies = runtime.instructions.filter { $0.keyword == "COPY" }.map(\.arguments)
        #expect(copies.contains { $0.hasPrefix("--from=build ") && $0.hasSuffix(" /usr/local/bin/nonroot-admission") }, "\(copies)")
    }

    @Test func dockerignoreKeepsTheContextSmall() throws {
        let text = try String(contentsOf: Install.root.appendingPathComponent(".dockerignore"), encoding: .utf8)
        let patterns = Set(text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") })
        #expect(patterns.contains(".build*") && patterns.contains(".git"), "\(patterns)")
        // Test sources stay out; only the folders (SwiftPM needs every target folder) and TestSupport go in.
        #expect(patterns.contains("Tests/*/*") && patterns.contains("!Tests/TestSupport/**"), "\(patterns)")
    }
}
