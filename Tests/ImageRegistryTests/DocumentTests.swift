import Testing
@testable import ImageRegistry

// Digests shaped like the fixture registry's (registry-testbed.md, "Example JSON as served").
private let configDigest = "sha256:cb12cda1a3b1e1b1f7c5e7e2a0b0f3c7d1e9a8b7c6d5e4f3a2b1c0d9e8f7a6b5"
private let layerDigest = "sha256:e135362a0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4"
private let amd64Digest = "sha256:94cb67da0123456789abcdef0123456789abcdef0123456789abcdef01234567"
private let arm64Digest = "sha256:821c11b4fedcba9876543210fedcba9876543210fedcba9876543210fedcba98"
private let armv7Digest = "sha256:5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"
private let attestationDigest = "sha256:0a0b0c0d0e0f0a0b0c0d0e0f0a0b0c0d0e0f0a0b0c0d0e0f0a0b0c0d0e0f0a0b"

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

private let ociManifestBody = """
    {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
     "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\(configDigest)","size":378},
     "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"\(layerDigest)","size":128}]}
    """

private let dockerManifestBody = """
    {"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
     "config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"\(configDigest)","size":378},
     "layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"\(layerDigest)","size":128}]}
    """

/// As umoci writes it: no `mediaType` field at all.
private let ociManifestWithoutMediaType = """
    {"schemaVersion":2,
     "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\(configDigest)","size":378},
     "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"\(layerDigest)","size":128}]}
    """

private let ociIndexBody = """
    {"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
     {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\(amd64Digest)","size":401,"platform":{"architecture":"amd64","os":"linux"}},
     {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\(arm64Digest)","size":401,"platform":{"architecture":"arm64","os":"linux","variant":"v8"}},
     {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\(attestationDigest)","size":566,
      "annotations":{"vnd.docker.reference.digest":"\(amd64Digest)","vnd.docker.reference.type":"attestation-manifest"},
      "platform":{"architecture":"unknown","os":"unknown"}}]}
    """

private let dockerListBody = """
    {"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[
     {"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":"\(amd64Digest)","size":429,"platform":{"architecture":"amd64","os":"linux"}},
     {"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":"\(armv7Digest)","size":429,"platform":{"architecture":"arm","os":"linux","variant":"v7"}},
     {"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":"\(arm64Digest)","size":429,"platform":{"architecture":"arm64","os":"linux","variant":"v8"}}]}
    """

private let expectedConfig = Descriptor(mediaType: "application/vnd.oci.image.config.v1+json", digest: configDigest, size: 378, platform: nil)
private let expectedDockerConfig = Descriptor(mediaType: "application/vnd.docker.container.image.v1+json", digest: configDigest, size: 378, platform: nil)

private let expectedOCIIndex: [Descriptor] = [
    Descriptor(mediaType: MediaType.ociManifest, digest: amd64Digest, size: 401, platform: Platform(os: "linux", architecture: "amd64")),
    Descriptor(mediaType: MediaType.ociManifest, digest: arm64Digest, size: 401, platform: Platform(os: "linux", architecture: "arm64", variant: "v8")),
    Descriptor(mediaType: MediaType.ociManifest, digest: attestationDigest, size: 566, platform: Platform(os: "unknown", architecture: "unknown")),
]

private let expectedDockerList: [Descriptor] = [
    Descriptor(mediaType: MediaType.dockerManifest, digest: amd64Digest, size: 429, platform: Platform(os: "linux", architecture: "amd64")),
    Descriptor(mediaType: MediaType.dockerManifest, digest: armv7Digest, size: 429, platform: Platform(os: "linux", architecture: "arm", variant: "v7")),
    Descriptor(mediaType: MediaType.dockerManifest, digest: arm64Digest, size: 429, platform: Platform(os: "linux", architecture: "arm64", variant: "v8")),
]

/// Parses, expecting a `RegistryDocumentError`, and returns its reason.
private func manifestError(_ body: String, contentType: String) -> String? {
    do {
        let manifest = try RegistryManifest.parse(bytes(body), contentType: contentType)
        Issue.record("expected an error, got \(manifest)")
        return nil
    } catch {
        return error.reason
    }
}

private func configError(_ body: String) -> String? {
    do {
        let configuration = try ImageConfiguration.parse(bytes(body))
        Issue.record("expected an error, got \(configuration)")
        return nil
    } catch {
        return error.reason
    }
}

private func tokenError(_ body: String) -> String? {
    do {
        let token = try TokenResponse.parse(bytes(body))
        Issue.record("expected an error, got \(token)")
        return nil
    } catch {
        return error.reason
    }
}

@Suite("MediaType")
struct MediaTypeTests {
    @Test("the Accept header names all four types, indexes first")
    func acceptHeader() {
        #expect(MediaType.manifestAccept == "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json")
    }

    @Test("essence drops parameters, trims and lowercases", arguments: [
        ("application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.manifest.v1+json"),
        ("application/vnd.oci.image.manifest.v1+json; charset=utf-8", "application/vnd.oci.image.manifest.v1+json"),
        ("  Application/VND.Docker.Distribution.Manifest.V2+JSON\t;charset=UTF-8", "application/vnd.docker.distribution.manifest.v2+json"),
        ("application/json;", "application/json"),
        ("", ""),
        (";charset=utf-8", ""),
        (" \t ", ""),
    ])
    func essence(contentType: String, expected: String) {
        #expect(MediaType.essence(of: contentType) == expected)
    }
}

@Suite("RegistryManifest.parse")
struct ManifestParseTests {
    @Test("an OCI image manifest is read by its Content-Type", arguments: [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.manifest.v1+json; charset=utf-8",
        "APPLICATION/VND.OCI.IMAGE.MANIFEST.V1+JSON",
        " application/vnd.oci.image.manifest.v1+json ;charset=\"utf-8\"",
    ])
    func ociManifest(contentType: String) throws {
        let manifest = try RegistryManifest.parse(bytes(ociManifestBody), contentType: contentType)
        #expect(manifest == .image(config: expectedConfig))
    }

    @Test("a Docker v2 schema 2 manifest is read by its Content-Type", arguments: [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json; charset=utf-8",
        "Application/Vnd.Docker.Distribution.Manifest.V2+Json",
    ])
    func dockerManifest(contentType: String) throws {
        let manifest = try RegistryManifest.parse(bytes(dockerManifestBody), contentType: contentType)
        #expect(manifest == .image(config: expectedDockerConfig))
    }

    @Test("an OCI index keeps every entry in order, the unknown/unknown attestation too")
    func ociIndex() throws {
        let manifest = try RegistryManifest.parse(bytes(ociIndexBody), contentType: "application/vnd.oci.image.index.v1+json")
        #expect(manifest == .index(expectedOCIIndex))
    }

    @Test("a Docker manifest list reads platforms with and without a variant")
    func dockerManifestList() throws {
        let manifest = try RegistryManifest.parse(bytes(dockerListBody), contentType: "application/vnd.docker.distribution.manifest.list.v2+json; charset=utf-8")
        #expect(manifest == .index(expectedDockerList))
    }

    @Test("a manifest without a mediaType field is read by the OCI Content-Type")
    func manifestWithoutMediaTypeField() throws {
        let manifest = try RegistryManifest.parse(bytes(ociManifestWithoutMediaType), contentType: "application/vnd.oci.image.manifest.v1+json")
        #expect(manifest == .image(config: expectedConfig))
    }

    @Test("the header decides, not the body's mediaType")
    func headerWinsOverBody() throws {
        // An image manifest body that claims to be an index: the header says manifest.
        let body = #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\#(configDigest)","size":378}}"#
        #expect(try RegistryManifest.parse(bytes(body), contentType: MediaType.ociManifest) == .image(config: expectedConfig))
    }

    @Test("generic Content-Types fall back to the body's mediaType", arguments: [
        "application/json", "application/json; charset=utf-8", "application/octet-stream", "text/plain", "", "Application/JSON",
    ])
    func genericContentTypeUsesBodyMediaType(contentType: String) throws {
        #expect(try RegistryManifest.parse(bytes(dockerManifestBody), contentType: contentType) == .image(config: expectedDockerConfig))
        #expect(try RegistryManifest.parse(bytes(dockerListBody), contentType: contentType) == .index(expectedDockerList))
        #expect(try RegistryManifest.parse(bytes(ociIndexBody), contentType: contentType) == .index(expectedOCIIndex))
    }

    @Test("a generic Content-Type and no mediaType: \"manifests\" means an index")
    func genericContentTypeWithManifestsKey() throws {
        let body = #"{"schemaVersion":2,"manifests":[{"digest":"\#(amd64Digest)","size":401,"platform":{"os":"linux","architecture":"amd64"}}]}"#
        let expected = Descriptor(mediaType: nil, digest: amd64Digest, size: 401, platform: Platform(os: "linux", architecture: "amd64"))
        #expect(try RegistryManifest.parse(bytes(body), contentType: "application/json") == .index([expected]))
    }

    @Test("a generic Content-Type and no mediaType nor manifests means an image manifest")
    func genericContentTypeWithoutManifestsKey() throws {
        #expect(try RegistryManifest.parse(bytes(ociManifestWithoutMediaType), contentType: "application/json") == .image(config: expectedConfig))
        #expect(manifestError(#"{"schemaVersion":2}"#, contentType: "application/json") == #"image manifest has no "config" descriptor"#)
    }

    @Test("Docker schema 1 is refused with a hint", arguments: [
        "application/vnd.docker.distribution.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
        "application/vnd.docker.distribution.manifest.v1+prettyjws; charset=utf-8",
    ])
    func schema1(contentType: String) {
        let body = #"{"schemaVersion":1,"name":"library/nginx","tag":"1.27","architecture":"amd64","fsLayers":[],"history":[],"signatures":[]}"#
        #expect(manifestError(body, contentType: contentType)
            == "the registry served a Docker schema 1 manifest, which has no config blob; push the image with a v2 or OCI manifest")
    }

    @Test("schema 1 named only by the body's mediaType is refused too")
    func schema1ByBody() {
        let body = #"{"schemaVersion":1,"mediaType":"application/vnd.docker.distribution.manifest.v1+prettyjws"}"#
        #expect(manifestError(body, contentType: "application/json")
            == "the registry served a Docker schema 1 manifest, which has no config blob; push the image with a v2 or OCI manifest")
    }

    @Test("an unknown media type is named in the error")
    func unknownMediaType() {
        #expect(manifestError(ociManifestBody, contentType: "application/vnd.oci.artifact.manifest.v1+json; charset=utf-8")
            == #"unsupported manifest media type "application/vnd.oci.artifact.manifest.v1+json""#)
        #expect(manifestError(#"{"mediaType":"Application/X-Custom"}"#, contentType: "text/plain")
            == #"unsupported manifest media type "Application/X-Custom""#)
    }

    @Test("a body that is not JSON says where")
    func notJSON() {
        #expect(manifestError("not json", contentType: MediaType.ociManifest)
            == "manifest is not valid JSON: line 1, column 2 (byte 1): invalid literal, expected 'null'")
        #expect(manifestError("<html><body>404 page not found</body></html>", contentType: "text/html")
            == "manifest is not valid JSON: line 1, column 1 (byte 0): unexpected character '<', expected a value")
        #expect(manifestError("", contentType: MediaType.ociManifest)
            == "manifest is not valid JSON: line 1, column 1 (byte 0): unexpected end of text, expected a value")
        #expect(manifestError("{\"schemaVersion\":2,\n\"config\":", contentType: MediaType.ociManifest)
            == "manifest is not valid JSON: line 2, column 10 (byte 29): unexpected end of text, expected a value")
    }

    @Test("a JSON value that is not an object is refused", arguments: [
        ("[]", "manifest is an array, not an object"),
        (#""manifest""#, "manifest is a string, not an object"),
        ("2", "manifest is a number, not an object"),
        ("null", "manifest is null, not an object"),
        ("true", "manifest is a boolean, not an object"),
    ])
    func notAnObject(body: String, reason: String) {
        #expect(manifestError(body, contentType: MediaType.ociManifest) == reason)
    }

    @Test("an index needs a manifests array", arguments: [
        #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json"}"#,
        #"{"schemaVersion":2,"manifests":{}}"#,
        #"{"schemaVersion":2,"manifests":null}"#,
    ])
    func indexWithoutManifests(body: String) {
        #expect(manifestError(body, contentType: MediaType.ociIndex) == #"index has no "manifests" array"#)
        #expect(manifestError(body, contentType: MediaType.dockerManifestList) == #"index has no "manifests" array"#)
    }

    @Test("an empty manifests array is an empty index")
    func emptyIndex() throws {
        #expect(try RegistryManifest.parse(bytes(#"{"manifests":[]}"#), contentType: MediaType.ociIndex) == .index([]))
    }

    @Test("an image manifest needs a config")
    func manifestWithoutConfig() {
        let body = #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}"#
        #expect(manifestError(body, contentType: MediaType.ociManifest) == #"image manifest has no "config" descriptor"#)
        #expect(manifestError(body, contentType: MediaType.dockerManifest) == #"image manifest has no "config" descriptor"#)
    }

    @Test("a descriptor's digest must be sha256 or sha512 with the right length", arguments: [
        ("sha256:abc", #"config.digest "sha256:abc" is not a sha256 or sha512 digest"#),
        ("md5:d41d8cd98f00b204e9800998ecf8427e", #"config.digest "md5:d41d8cd98f00b204e9800998ecf8427e" is not a sha256 or sha512 digest"#),
        ("SHA256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", #"config.digest "SHA256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855" is not a sha256 or sha512 digest"#),
        ("", #"config.digest "" is not a sha256 or sha512 digest"#),
    ])
    func configWithBadDigest(digest: String, reason: String) {
        let body = #"{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\#(digest)","size":378}}"#
        #expect(manifestError(body, contentType: MediaType.ociManifest) == reason)
    }

    @Test("a bad digest in an index names the entry")
    func indexEntryWithBadDigest() {
        let body = #"{"manifests":[{"digest":"\#(amd64Digest)","size":1},{"digest":"sha256:abc","size":2}]}"#
        #expect(manifestError(body, contentType: MediaType.ociIndex) == #"manifests[1].digest "sha256:abc" is not a sha256 or sha512 digest"#)
    }

    @Test("a descriptor without a digest, or with a non-string one")
    func descriptorWithoutDigest() {
        #expect(manifestError(#"{"config":{"size":378}}"#, contentType: MediaType.ociManifest) == #"config has no "digest""#)
        #expect(manifestError(#"{"config":{"digest":42}}"#, contentType: MediaType.ociManifest) == #"config has no "digest""#)
        #expect(manifestError(#"{"manifests":[{"size":1}]}"#, contentType: MediaType.ociIndex) == #"manifests[0] has no "digest""#)
    }

    @Test("a descriptor that is not an object", arguments: [
        (#"{"config":"sha256:abc"}"#, MediaType.ociManifest, "config is a string, not an object"),
        (#"{"config":null}"#, MediaType.dockerManifest, "config is null, not an object"),
        (#"{"config":[]}"#, MediaType.ociManifest, "config is an array, not an object"),
        (#"{"manifests":["sha256:abc"]}"#, MediaType.ociIndex, "manifests[0] is a string, not an object"),
        (#"{"manifests":[{"digest":"\#(amd64Digest)"},7]}"#, MediaType.dockerManifestList, "manifests[1] is a number, not an object"),
    ])
    func descriptorNotAnObject(body: String, contentType: String, reason: String) {
        #expect(manifestError(body, contentType: contentType) == reason)
    }

    @Test("a missing size reads as -1; a sha512 digest is accepted")
    func descriptorDefaults() throws {
        let sha512 = "sha512:" + String(repeating: "ab", count: 64)
        let manifest = try RegistryManifest.parse(bytes(#"{"config":{"digest":"\#(sha512)"}}"#), contentType: MediaType.ociManifest)
        #expect(manifest == .image(config: Descriptor(mediaType: nil, digest: sha512, size: -1, platform: nil)))
    }

    @Test("a platform needs os and architecture; an empty variant is no variant")
    func descriptorPlatforms() throws {
        let body = """
            {"manifests":[
             {"digest":"\(amd64Digest)","size":1,"platform":{"os":"linux"}},
             {"digest":"\(amd64Digest)","size":2,"platform":"linux/amd64"},
             {"digest":"\(amd64Digest)","size":3,"platform":{"os":"linux","architecture":"amd64","variant":""}},
             {"digest":"\(amd64Digest)","size":4,"platform":{"os":"windows","architecture":"amd64","os.version":"10.0.20348.2582"}}]}
            """
        let manifest = try RegistryManifest.parse(bytes(body), contentType: MediaType.ociIndex)
        #expect(manifest == .index([
            Descriptor(mediaType: nil, digest: amd64Digest, size: 1, platform: nil),
            Descriptor(mediaType: nil, digest: amd64Digest, size: 2, platform: nil),
            Descriptor(mediaType: nil, digest: amd64Digest, size: 3, platform: Platform(os: "linux", architecture: "amd64")),
            Descriptor(mediaType: nil, digest: amd64Digest, size: 4, platform: Platform(os: "windows", architecture: "amd64")),
        ]))
    }
}

@Suite("ImageConfiguration.parse")
struct ImageConfigurationTests {
    private static func body(config: String?) -> String {
        var text = #"{"created":"2024-01-01T00:00:00Z","architecture":"amd64","os":"linux","#
        if let config { text += #""config":\#(config),"# }
        text += #""rootfs":{"type":"layers","diff_ids":["sha256:761c6ee4"]},"history":[{"created":"2024-01-01T00:00:00Z"}]}"#
        return text
    }

    @Test("config.User is read as written", arguments: [
        (#"{"User":"1000:1000","Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}"#, "1000:1000" as String?),
        (#"{"User":"0"}"#, "0"),
        (#"{"User":"root"}"#, "root"),
        (#"{"User":"app:app"}"#, "app:app"),
        (#"{"User":"65532"}"#, "65532"),
        (#"{"User":""}"#, ""),
        (#"{"User":"\u0061pp"}"#, "app"),
    ])
    func userPresent(config: String, user: String?) throws {
        let parsed = try ImageConfiguration.parse(bytes(Self.body(config: config)))
        #expect(parsed == ImageConfiguration(user: user, platform: Platform(os: "linux", architecture: "amd64")))
    }

    @Test("no User: the key absent, null, config null or absent", arguments: [
        #"{"Env":["PATH=/usr/bin"]}"#, #"{"User":null}"#, "{}", "null", nil,
    ] as [String?])
    func userAbsent(config: String?) throws {
        let parsed = try ImageConfiguration.parse(bytes(Self.body(config: config)))
        #expect(parsed.user == nil)
        #expect(parsed.platform == Platform(os: "linux", architecture: "amd64"))
    }

    @Test("a User that is not a string is an error", arguments: [
        (#"{"User":1000}"#, #"image config "config.User" is a number, not a string"#),
        (#"{"User":["1000"]}"#, #"image config "config.User" is an array, not a string"#),
        (#"{"User":true}"#, #"image config "config.User" is a boolean, not a string"#),
        (#"{"User":{}}"#, #"image config "config.User" is an object, not a string"#),
    ])
    func userNotAString(config: String, reason: String) {
        #expect(configError(Self.body(config: config)) == reason)
    }

    @Test("a config that is not an object is an error", arguments: [
        (#""User=1000""#, #"image config "config" is a string, not an object"#),
        ("[]", #"image config "config" is an array, not an object"#),
        ("0", #"image config "config" is a number, not an object"#),
        ("false", #"image config "config" is a boolean, not an object"#),
    ])
    func configNotAnObject(config: String, reason: String) {
        #expect(configError(Self.body(config: config)) == reason)
    }

    @Test("the platform comes from os, architecture and variant", arguments: [
        (#"{"os":"linux","architecture":"arm64","variant":"v8"}"#, Platform(os: "linux", architecture: "arm64", variant: "v8") as Platform?),
        (#"{"os":"linux","architecture":"amd64"}"#, Platform(os: "linux", architecture: "amd64")),
        (#"{"os":"linux","architecture":"arm","variant":""}"#, Platform(os: "linux", architecture: "arm")),
        (#"{"os":"windows","architecture":"amd64","os.version":"10.0.17763.6189"}"#, Platform(os: "windows", architecture: "amd64")),
        (#"{"os":"linux"}"#, nil),
        (#"{"architecture":"amd64"}"#, nil),
        (#"{"os":"","architecture":"amd64"}"#, nil),
        (#"{"os":"linux","architecture":""}"#, nil),
        (#"{"os":"linux","architecture":64}"#, nil),
        ("{}", nil),
    ])
    func platform(body: String, platform: Platform?) throws {
        #expect(try ImageConfiguration.parse(bytes(body)) == ImageConfiguration(user: nil, platform: platform))
    }

    @Test("a config blob that is not a JSON object")
    func notAnObject() {
        #expect(configError("[]") == "image config is an array, not an object")
        #expect(configError("{") == "image config is not valid JSON: line 1, column 2 (byte 1): unexpected end of text inside an object")
    }
}

@Suite("TokenResponse.parse")
struct TokenResponseTests {
    @Test("token alone, with the default lifetime of 60 seconds")
    func tokenOnly() throws {
        #expect(try TokenResponse.parse(bytes(#"{"token":"eyJhbGciOiJSUzI1NiJ9.e30.c2ln"}"#)) == TokenResponse(token: "eyJhbGciOiJSUzI1NiJ9.e30.c2ln", expiresIn: 60))
    }

    @Test("access_token alone")
    func accessTokenOnly() throws {
        #expect(try TokenResponse.parse(bytes(#"{"access_token":"ya29.a0Af","expires_in":300}"#)) == TokenResponse(token: "ya29.a0Af", expiresIn: 300))
    }

    @Test("token wins when both are set, as in the fixture's token server")
    func bothNames() throws {
        let body = #"{"token":"eyJ.first","access_token":"eyJ.second","expires_in":300,"issued_at":"2026-11-29T07:44:00Z"}"#
        #expect(try TokenResponse.parse(bytes(body)) == TokenResponse(token: "eyJ.first", expiresIn: 300))
    }

    @Test("an empty token falls back to access_token")
    func emptyTokenFallsBack() throws {
        #expect(try TokenResponse.parse(bytes(#"{"token":"","access_token":"abc"}"#)) == TokenResponse(token: "abc", expiresIn: 60))
    }

    @Test("neither name, or both empty or not strings, is an error", arguments: [
        "{}", #"{"expires_in":300}"#, #"{"token":""}"#, #"{"token":"","access_token":""}"#, #"{"token":42}"#, #"{"access_token":null}"#,
    ])
    func missingToken(body: String) {
        #expect(tokenError(body) == #"token response has neither "token" nor "access_token""#)
    }

    @Test("expires_in: positive integers up to a day are kept", arguments: [
        ("1", Int64(1)), ("300", 300), ("86400", 86_400), ("86401", 86_400), ("31536000", 86_400), ("9223372036854775807", 86_400),
    ])
    func expiresIn(value: String, expected: Int64) throws {
        #expect(try TokenResponse.parse(bytes(#"{"token":"t","expires_in":\#(value)}"#)).expiresIn == expected)
    }

    @Test("expires_in that is not a positive integer means the default 60", arguments: [
        "0", "-5", "300.5", "1e3", #""300""#, "null",
    ])
    func expiresInDefault(value: String) throws {
        #expect(try TokenResponse.parse(bytes(#"{"token":"t","expires_in":\#(value)}"#)).expiresIn == 60)
    }

    @Test("a token that cannot go in a header is refused", arguments: [
        "abc def", "abc\\tdef", "abc\\r\\nX-Injected: 1", "abc\\u0000", "abc\\u007f", "caf\\u00e9",
    ])
    func tokenWithForbiddenCharacters(escaped: String) {
        #expect(tokenError(#"{"token":"\#(escaped)"}"#) == "token response holds a token with characters not allowed in a header")
        #expect(tokenError(#"{"access_token":"\#(escaped)"}"#) == "token response holds a token with characters not allowed in a header")
    }

    @Test("a body that is not a JSON object")
    func notAnObject() {
        #expect(tokenError(#""eyJ""#) == "token response is a string, not an object")
        #expect(tokenError("<html>") == "token response is not valid JSON: line 1, column 1 (byte 0): unexpected character '<', expected a value")
    }

    @Test("the error's description is its reason")
    func errorDescription() {
        #expect(RegistryDocumentError("index has no \"manifests\" array").description == #"index has no "manifests" array"#)
    }
}
