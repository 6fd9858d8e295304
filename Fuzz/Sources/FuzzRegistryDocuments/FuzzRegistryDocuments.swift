// The registry client's document readers on untrusted registry and file content: manifests (the
// first input byte picks the Content-Type), image configs, token responses, WWW-Authenticate
// challenges, docker config.json credentials, content digests and platforms. Never a crash; what
// they return satisfies their documented guarantees.
import FuzzSupport
import ImageRegistry

/// Content-Type headers a registry may send, including generic, parameterised, odd-cased and unknown ones.
let contentTypes = [
    MediaType.ociIndex, MediaType.dockerManifestList, MediaType.ociManifest, MediaType.dockerManifest,
    "application/json", "", "application/octet-stream", "text/plain",
    "application/vnd.docker.distribution.manifest.v1+json", "application/vnd.docker.distribution.manifest.v1+prettyjws",
    MediaType.ociIndex + "; charset=utf-8", " Application/Vnd.Docker.Distribution.Manifest.V2+Json\t; q=1",
    "application/vnd.oci.image.config.v1+json", ";", "text/html; charset=iso-8859-1", "APPLICATION/JSON",
]

func isDigest(_ text: String) -> Bool { ContentDigest(text) != nil }

func checkDescriptor(_ descriptor: Descriptor) {
    require(isDigest(descriptor.digest), "descriptor with a bad digest \(descriptor.digest.debugDescription)")
    if let platform = descriptor.platform { _ = platform.description }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let (selector, body) = splitSelector(fuzzInput(data, size))
    let text = String(decoding: body, as: UTF8.self)

    // Manifests.
    let contentType = selector < contentTypes.count ? contentTypes[Int(selector)] : text.prefix(Int(selector) - contentTypes.count).description
    do {
        switch try RegistryManifest.parse(body, contentType: contentType) {
        case .index(let descriptors): descriptors.forEach(checkDescriptor)
        case .image(let config): checkDescriptor(config)
        }
    } catch {
        require(!error.reason.isEmpty, "manifest error without a reason")
    }

    // Image configs.
    do {
        let configuration = try ImageConfiguration.parse(body)
        if let platform = configuration.platform {
            require(!platform.os.isEmpty && !platform.architecture.isEmpty && platform.variant?.isEmpty != true, "empty platform part")
        }
    } catch {
        require(!error.reason.isEmpty, "config error without a reason")
    }

    // Token responses: a token usable in a header, a lifetime within bounds.
    if let token = try? TokenResponse.parse(body) {
        require(!token.token.isEmpty && token.token.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }, "token not usable in a header: \(token.token.debugDescription)")
        require((1...86_400).contains(token.expiresIn), "token lifetime \(token.expiresIn)")
    }

    // WWW-Authenticate: schemes and parameter names are non-empty and lowercased.
    for challenge in AuthChallenge.parse(text) {
        require(!challenge.scheme.isEmpty && challenge.scheme == challenge.scheme.lowercased(), "scheme \(challenge.scheme.debugDescription)")
        for name in challenge.parameters.keys {
            require(!name.isEmpty && name == name.lowercased(), "parameter name \(name.debugDescription)")
        }
    }

    // Credentials: every stored host answers, passwords never show in descriptions.
    do {
        let keyring = try DockerKeyring.parse(body, source: "fuzz")
        for image in ["docker.io/library/nginx", "ghcr.io/acme/api", "localhost:5000/x", text] {
            for basic in keyring.lookup(image) {
                require(basic.description == basic.username + ":<redacted>", "credentials description")
            }
        }
    } catch {
        require(error.source == "fuzz" && !error.reason.isEmpty, "credentials error")
    }

    // Digests: a parsed digest prints as it was written and re-parses equal.
    if let digest = ContentDigest(text) {
        require(digest.description == text, "digest \(text.debugDescription) prints as \(digest.description.debugDescription)")
        require(ContentDigest(digest.description) == digest, "digest does not re-parse")
    }
    let own = ContentDigest.sha256(of: body)
    require(own.matches(body) && ContentDigest(own.description) == own, "sha256 of the input does not match it")

    // Platforms: lowercased, and the description parses back to the same platform.
    if let platform = Platform(parsing: text) {
        require(Platform(parsing: platform.description) == platform, "platform \(text.debugDescription) → \(platform.description.debugDescription) does not re-parse")
        require(platform.satisfies(platform), "a platform does not satisfy itself")
    }
    return 0
}
