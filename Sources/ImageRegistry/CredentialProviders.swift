#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import JSON
import Logging
import Metrics
import Synchronization
import YAML

/// The kubelet's `CredentialProviderConfig` (`kubelet.config.k8s.io/v1`), read from
/// `--image-credential-provider-config` (a file, or a directory of `*.json`, `*.yaml` and `*.yml`
/// files read in lexicographic order), with the plugins in `--image-credential-provider-bin-dir`.
public struct CredentialProviderConfiguration: Sendable, Equatable {
    public struct Provider: Sendable, Equatable {
        public var name: String
        public var matchImages: [String]
        public var defaultCacheDuration: Duration
        /// The request and response version, such as `credentialprovider.kubelet.k8s.io/v1`.
        public var apiVersion: String
        public var args: [String] = []
        /// `NAME=value`, appended to the webhook's environment (a later entry wins).
        public var env: [String] = []

        public init(name: String, matchImages: [String], defaultCacheDuration: Duration, apiVersion: String, args: [String] = [], env: [String] = []) {
            self.name = name
            self.matchImages = matchImages
            self.defaultCacheDuration = defaultCacheDuration
            self.apiVersion = apiVersion
            self.args = args
            self.env = env
        }
    }

    public var providers: [Provider]
    public var binDir: String

    public init(providers: [Provider], binDir: String) {
        self.providers = providers
        self.binDir = binDir
    }

    static let configAPIVersions = ["kubelet.config.k8s.io/v1", "kubelet.config.k8s.io/v1beta1", "kubelet.config.k8s.io/v1alpha1"]
    static let pluginAPIVersions = ["credentialprovider.kubelet.k8s.io/v1", "credentialprovider.kubelet.k8s.io/v1beta1", "credentialprovider.kubelet.k8s.io/v1alpha1"]

    /// Reads and validates the config, and checks each plugin is an executable in `binDir`.
    public static func load(configPath: String, binDir: String) throws(RegistryCredentialsError) -> CredentialProviderConfiguration {
        guard FileManager.default.fileExists(atPath: configPath) else {
            throw RegistryCredentialsError(source: configPath, reason: "cannot read the file")
        }
        var files = [configPath]
        if let names = try? FileManager.default.contentsOfDirectory(atPath: configPath) {
            files = names.filter { name in [".json", ".yaml", ".yml"].contains { name.hasSuffix($0) } }.sorted().map { configPath + "/" + $0 }
            guard !files.isEmpty else { throw RegistryCredentialsError(source: configPath, reason: "no configuration files found in directory") }
        }
        var providers: [Provider] = []
        var seen: [String: String] = [:]
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else { throw RegistryCredentialsError(source: file, reason: "cannot read the file") }
            for provider in try parse(Array(data), source: file) {
                if let first = seen[provider.name] {
                    throw RegistryCredentialsError(source: file, reason: "duplicate provider name \"\(provider.name)\" (first in \(first))")
                }
                seen[provider.name] = file
                providers.append(provider)
            }
        }
        for provider in providers {
            let path = binDir + "/" + provider.name
            guard FileManager.default.fileExists(atPath: path) else {
                throw RegistryCredentialsError(source: configPath, reason: "plugin binary executable \(path) did not exist")
            }
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw RegistryCredentialsError(source: configPath, reason: "plugin binary \(path) is not executable")
            }
        }
        return CredentialProviderConfiguration(providers: providers, binDir: binDir)
    }

    /// One config document, decoded strictly as the kubelet does: unknown and mistyped fields are errors.
    public static func parse(_ bytes: [UInt8], source: String) throws(RegistryCredentialsError) -> [Provider] {
        func fail(_ reason: String) -> RegistryCredentialsError { RegistryCredentialsError(source: source, reason: reason) }
        let root: YAMLNode
        do {
            guard let document = try YAMLParser.singleDocument(in: bytes) else { throw fail("empty document") }
            root = document
        } catch let error as RegistryCredentialsError {
            throw error
        } catch {
            throw fail("not valid YAML or JSON: \(error)")
        }
        let top = try StrictObject(root, path: "", allowed: ["apiVersion", "kind", "providers"], fail: fail)
        let apiVersion = try top.string("apiVersion")
        guard configAPIVersions.contains(apiVersion) else {
            throw fail("apiVersion must be one of \(configAPIVersions.joined(separator: ", ")), got \"\(apiVersion)\"")
        }
        guard try top.string("kind") == "CredentialProviderConfig" else { throw fail("kind must be CredentialProviderConfig") }
        let list = try top.list("providers")
        guard !list.isEmpty else { throw fail("providers: Required value: at least 1 item in plugins is required") }
        var providers: [Provider] = []
        for (position, node) in list.enumerated() {
            let path = "providers[\(position)]"
            let object = try StrictObject(node, path: path, allowed: ["name", "matchImages", "defaultCacheDuration", "apiVersion", "args", "env", "tokenAttributes"], fail: fail)
            if object.has("tokenAttributes") {
                throw fail("\(path).tokenAttributes: service account tokens for plugins are not supported")
            }
            let name = try object.string("name")
            if name.isEmpty { throw fail("\(path).name: Required value: name is required") }
            if name.contains("/") { throw fail("\(path).name: Invalid value: \"\(name)\": provider name cannot contain '/'") }
            if name.contains(" ") { throw fail("\(path).name: Invalid value: \"\(name)\": provider name cannot contain spaces") }
            if name == "." || name == ".." { throw fail("\(path).name: Invalid value: \"\(name)\": provider name cannot be '\(name)'") }
            if providers.contains(where: { $0.name == name }) { throw fail("\(path).name: Duplicate value: \"\(name)\"") }
            let pluginVersion = try object.string("apiVersion")
            if pluginVersion.isEmpty { throw fail("\(path).apiVersion: Required value: apiVersion is required") }
            guard pluginAPIVersions.contains(pluginVersion) else {
                throw fail("\(path).apiVersion: Unsupported value: \"\(pluginVersion)\": supported values: \(pluginAPIVersions.map { "\"\($0)\"" }.joined(separator: ", "))")
            }
            let matchImages = try object.list("matchImages").enumerated().map { index, node throws(RegistryCredentialsError) in
                try StrictObject.string(node, path: "\(path).matchImages[\(index)]", fail: fail)
            }
            if matchImages.isEmpty { throw fail("\(path).matchImages: Required value: at least 1 item in matchImages is required") }
            for image in matchImages where KeyringMatching.parseURL("https://" + image) == nil {
                throw fail("\(path).matchImages: Invalid value: \"\(image)\": match image is invalid")
            }
            guard object.has("defaultCacheDuration") else { throw fail("\(path).defaultCacheDuration: Required value: defaultCacheDuration is required") }
            let durationText = try object.string("defaultCacheDuration")
            guard let duration = GoDuration.parse(durationText) else { throw fail("\(path).defaultCacheDuration: time: invalid duration \"\(durationText)\"") }
            if duration < .zero { throw fail("\(path).defaultCacheDuration: Invalid value: \"\(durationText)\": defaultCacheDuration must be greater than or equal to 0") }
            let args = try object.list("args").enumerated().map { index, node throws(RegistryCredentialsError) in
                try StrictObject.string(node, path: "\(path).args[\(index)]", fail: fail)
            }
            var env: [String] = []
            for (index, node) in try object.list("env").enumerated() {
                let entry = try StrictObject(node, path: "\(path).env[\(index)]", allowed: ["name", "value"], fail: fail)
                env.append(try entry.string("name") + "=" + entry.string("value"))
            }
            providers.append(Provider(name: name, matchImages: matchImages, defaultCacheDuration: duration, apiVersion: pluginVersion, args: args, env: env))
        }
        return providers
    }
}

/// A YAML mapping read strictly: only the named fields, case-sensitive, strings where strings go.
private struct StrictObject {
    let pairs: [String: YAMLNode]
    let path: String
    let fail: (String) -> RegistryCredentialsError

    init(_ node: YAMLNode, path: String, allowed: Set<String>, fail: @escaping (String) -> RegistryCredentialsError) throws(RegistryCredentialsError) {
        guard let pairs = node.pairs else { throw fail("\(path.isEmpty ? "the document" : path) must be an object") }
        var table: [String: YAMLNode] = [:]
        for pair in pairs {
            let key = pair.key.scalar?.text ?? ""
            guard allowed.contains(key) else { throw fail("\(path.isEmpty ? "" : path + ": ")unknown field \"\(key)\"") }
            if !pair.value.isNull { table[key] = pair.value }
        }
        self.pairs = table
        self.path = path
        self.fail = fail
    }

    func has(_ key: String) -> Bool { pairs[key] != nil }

    func string(_ key: String) throws(RegistryCredentialsError) -> String {
        guard let node = pairs[key] else { return "" }
        return try StrictObject.string(node, path: path.isEmpty ? key : path + "." + key, fail: fail)
    }

    func list(_ key: String) throws(RegistryCredentialsError) -> [YAMLNode] {
        guard let node = pairs[key] else { return [] }
        guard let elements = node.elements else { throw fail("\(path.isEmpty ? key : path + "." + key) must be a list") }
        return elements
    }

    static func string(_ node: YAMLNode, path: String, fail: (String) -> RegistryCredentialsError) throws(RegistryCredentialsError) -> String {
        guard let scalar = node.scalar, node.tag == .str else { throw fail("\(path) must be a string") }
        return scalar.text
    }
}

/// Go's `time.ParseDuration`: `300ms`, `1.5h`, `2h45m`; units ns, us, µs, ms, s, m, h.
enum GoDuration {
    static func parse(_ text: String) -> Duration? {
        var rest = Substring(text)
        var negative = false
        if let sign = rest.first, sign == "-" || sign == "+" {
            negative = sign == "-"
            rest = rest.dropFirst()
        }
        if rest == "0" { return .zero }
        guard !rest.isEmpty else { return nil }
        let units: [(String, Int64)] = [("ns", 1), ("us", 1000), ("µs", 1000), ("μs", 1000), ("ms", 1_000_000), ("s", 1_000_000_000), ("m", 60_000_000_000), ("h", 3_600_000_000_000)]
        var total: Int64 = 0
        while !rest.isEmpty {
            guard let first = rest.first, first == "." || first.isASCII && first.isNumber else { return nil }
            let whole = rest.prefix { $0.isASCII && $0.isNumber }
            rest = rest.dropFirst(whole.count)
            var fraction: Substring = ""
            if rest.first == "." {
                rest = rest.dropFirst()
                fraction = rest.prefix { $0.isASCII && $0.isNumber }
                rest = rest.dropFirst(fraction.count)
            }
            guard !whole.isEmpty || !fraction.isEmpty else { return nil }
            let unitText = rest.prefix { $0 != "." && !($0.isASCII && $0.isNumber) }
            rest = rest.dropFirst(unitText.count)
            guard let unit = units.first(where: { $0.0 == unitText })?.1 else { return nil }
            guard let wholeValue = whole.isEmpty ? 0 : Int64(whole) else { return nil }
            var (value, overflow) = wholeValue.multipliedReportingOverflow(by: unit)
            guard !overflow else { return nil }
            if !fraction.isEmpty {
                var scale: Double = 1
                var digits: Double = 0
                for digit in fraction.prefix(18) {
                    digits = digits * 10 + Double(digit.wholeNumberValue ?? 0)
                    scale *= 10
                }
                value += Int64(digits * (Double(unit) / scale))
            }
            (total, overflow) = total.addingReportingOverflow(value)
            guard !overflow else { return nil }
        }
        return .nanoseconds(negative ? -total : total)
    }
}

/// Runs the configured plugins for an image and caches their answers as the kubelet does.
final class CredentialProviders: Sendable {
    let configuration: CredentialProviderConfiguration
    private let state = Mutex(State())
    /// Plugin processes running at once, across all lookups.
    private let running = RegistryGate(capacity: CredentialProviders.maximumRunning)
    static let maximumRunning = 8
    static let maximumResponseBytes = 1 << 20
    /// The kubelet's hard-coded exec timeout.
    static let maximumRunTime: Duration = .seconds(60)
    static let maximumCacheEntries = 4096

    private struct State {
        /// By provider name, then by cache key (image, registry or `<global>`).
        var caches: [String: [String: CacheEntry]] = [:]
        var flights: [String: Task<Result<[(String, RegistryCredential)], RegistryError>, Never>] = [:]
    }

    private struct CacheEntry {
        var auth: [(String, RegistryCredential)]
        var expires: ContinuousClock.Instant
    }

    private let logger = Logger(label: "nonroot-admission.credential-provider")
    /// Plugin runs that failed or timed out (the lookup went on without them).
    private let failed = Counter(label: "nonroot_admission_credential_provider_failures_total")

    init(configuration: CredentialProviderConfiguration) {
        self.configuration = configuration
    }

    static let globalCacheKey = "<global>"

    /// `isImageAllowed`: some `matchImages` entry matches, with no Docker Hub fallback.
    static func matches(_ provider: CredentialProviderConfiguration.Provider, _ image: String) -> Bool {
        provider.matchImages.contains { KeyringMatching.urlsMatch(glob: $0, target: image) }
    }

    /// The merged keyring of every matching provider, in config order, running those not cached.
    ///
    /// A provider that fails or times out adds nothing, as the kubelet's `Provide` returns an empty
    /// config on error: the other credentials (and anonymous access) are still tried. Its failure is
    /// logged, counted and returned, so a lookup the registry then refuses can name it.
    func keyring(for image: String, deadline: ContinuousClock.Instant) async -> (keyring: DockerKeyring, failures: [RegistryError]) {
        var keyring = DockerKeyring()
        var failures: [RegistryError] = []
        for provider in configuration.providers where CredentialProviders.matches(provider, image) {
            let auth: [(String, RegistryCredential)]
            if let cached = cached(provider, image) {
                auth = cached
            } else {
                switch await run(provider, image, deadline: deadline) {
                case .success(let found):
                    auth = found
                case .failure(let error):
                    // The reason is ours or the kubelet's wording, never the plugin's output: no secrets.
                    logger.warning("credential provider plugin failed; trying the other credentials", metadata: [
                        "provider": "\(provider.name)", "image": "\(image)", "error": "\(error)",
                    ])
                    failed.increment()
                    failures.append(error)
                    continue
                }
            }
            for (key, credential) in auth { keyring.add(key, credential) }
        }
        return (keyring, failures)
    }

    /// The same from the caches alone; nil when some matching provider has no cached answer.
    func cachedKeyring(for image: String) -> DockerKeyring? {
        var keyring = DockerKeyring()
        for provider in configuration.providers where CredentialProviders.matches(provider, image) {
            guard let auth = cached(provider, image) else { return nil }
            for (key, credential) in auth { keyring.add(key, credential) }
        }
        return keyring
    }

    /// Lookup order: the image, its registry (the first `/` segment), then the global key.
    private func cached(_ provider: CredentialProviderConfiguration.Provider, _ image: String) -> [(String, RegistryCredential)]? {
        let now = ContinuousClock.now
        let registry = String(image.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        return state.withLock { state in
            guard let cache = state.caches[provider.name] else { return nil }
            for key in [image, registry, CredentialProviders.globalCacheKey] {
                if let entry = cache[key], entry.expires > now { return entry.auth }
            }
            return nil
        }
    }

    /// One exec per provider and image at a time; later lookups wait for the running one.
    private func run(_ provider: CredentialProviderConfiguration.Provider, _ image: String, deadline: ContinuousClock.Instant) async -> Result<[(String, RegistryCredential)], RegistryError> {
        let key = provider.name + "\u{0}" + image
        let task = state.withLock { state in
            if let running = state.flights[key] { return running }
            let task = Task { [self] in
                let result = await exec(provider, image, deadline: min(deadline, .now + CredentialProviders.maximumRunTime))
                self.state.withLock { $0.flights[key] = nil }
                return result
            }
            state.flights[key] = task
            return task
        }
        return await task.value
    }

    private func exec(_ provider: CredentialProviderConfiguration.Provider, _ image: String, deadline: ContinuousClock.Instant) async -> Result<[(String, RegistryCredential)], RegistryError> {
        func failure(_ reason: String) -> Result<[(String, RegistryCredential)], RegistryError> {
            .failure(.credentialProvider(name: provider.name, reason: reason))
        }
        guard await running.acquire(1, deadline: deadline) else {
            return failure("\(CredentialProviders.maximumRunning) plugin runs in flight, the most allowed; none finished before the lookup's deadline")
        }
        defer { running.release(1) }
        var request = JSONWriter()
        request.beginObject()
        request.key("kind")
        request.string("CredentialProviderRequest")
        request.key("apiVersion")
        request.string(provider.apiVersion)
        request.key("image")
        request.string(image)
        request.endObject()
        let input = request.bytes + [UInt8(ascii: "\n")]
        let environment = CredentialProviders.merge(PluginProcess.currentEnvironment(), provider.env)
        let output: [UInt8]
        switch await PluginProcess.run(
            path: configuration.binDir + "/" + provider.name, arguments: provider.args, environment: environment, input: input,
            maximumOutput: CredentialProviders.maximumResponseBytes, deadline: deadline)
        {
        case .success(let bytes): output = bytes
        case .failure(let error): return failure("error execing credential provider plugin \(provider.name) for image \(image): \(error.reason)")
        }
        let response: CredentialProviderResponse
        do {
            response = try CredentialProviderResponse.parse(output, apiVersion: provider.apiVersion)
        } catch {
            return failure(error.reason)
        }
        let cacheKey: String
        switch response.cacheKeyType {
        case "Image": cacheKey = image
        case "Registry": cacheKey = String(image.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        case "Global": cacheKey = CredentialProviders.globalCacheKey
        default: return failure("credential provider plugin did not return a valid cacheKeyType: \"\(response.cacheKeyType)\"")
        }
        // cacheDuration 0: not cached; nil: defaultCacheDuration (0 there also means not cached).
        let lifetime = response.cacheDuration ?? provider.defaultCacheDuration
        if lifetime > .zero {
            let now = ContinuousClock.now
            state.withLock { state in
                var cache = state.caches[provider.name] ?? [:]
                if cache.count >= CredentialProviders.maximumCacheEntries {
                    cache = cache.filter { $0.value.expires > now }
                    if cache.count >= CredentialProviders.maximumCacheEntries { cache.removeAll() }
                }
                cache[cacheKey] = CacheEntry(auth: response.auth, expires: now + lifetime)
                state.caches[provider.name] = cache
            }
        }
        return .success(response.auth)
    }

    /// `os.Environ()` then the config's entries; for a repeated name the last value wins, as in `exec.Cmd`.
    static func merge(_ base: [String], _ extra: [String]) -> [String] {
        var order: [String] = []
        var values: [String: String] = [:]
        for entry in base + extra {
            let name = String(entry.prefix { $0 != "=" })
            if values[name] == nil { order.append(name) }
            values[name] = entry
        }
        return order.compactMap { values[$0] }
    }
}

/// A plugin's `CredentialProviderResponse`, checked as the kubelet checks it.
struct CredentialProviderResponse {
    var cacheKeyType: String
    var cacheDuration: Duration?
    var auth: [(String, RegistryCredential)]

    struct Failure: Error { var reason: String }

    static func parse(_ bytes: [UInt8], apiVersion expected: String) throws(Failure) -> CredentialProviderResponse {
        let document: JSONDocument
        do {
            document = try JSONDocument(parsing: bytes, limits: JSONLimits(maximumDepth: 16, maximumBytes: CredentialProviders.maximumResponseBytes))
        } catch {
            throw Failure(reason: "error reading GVK from response: \(error)")
        }
        let root = document.root
        // The version check reads apiVersion as encoding/json does (names case-insensitive).
        let actual = root.isObject ? GoJSON.field(root, "apiVersion")?.string ?? "" : ""
        guard actual == expected else {
            throw Failure(reason: "apiVersion from credential plugin response did not match expected apiVersion:\(expected), actual apiVersion:\(actual)")
        }
        // The rest is decoded strictly, and its errors are not shown: they may quote credentials.
        let undecodable = Failure(reason: "error decoding credential provider plugin response from stdout")
        guard root.isObject, document.firstDuplicateKey() == nil else { throw undecodable }
        let allowed: Set<String> = ["kind", "apiVersion", "cacheKeyType", "cacheDuration", "auth"]
        for member in root.members where !allowed.contains(member.key) { throw undecodable }
        guard root["kind"]?.string == "CredentialProviderResponse" else { throw undecodable }
        let cacheKeyType: String
        switch root["cacheKeyType"] {
        case nil: cacheKeyType = ""
        case let value? where value.isNull: cacheKeyType = ""
        case let value?:
            guard let text = value.string else { throw undecodable }
            cacheKeyType = text
        }
        var cacheDuration: Duration?
        if let value = root["cacheDuration"], !value.isNull {
            guard let text = value.string, let duration = GoDuration.parse(text) else { throw undecodable }
            cacheDuration = duration
        }
        var auth: [(String, RegistryCredential)] = []
        if let map = root["auth"], !map.isNull {
            guard map.isObject else { throw undecodable }
            for (key, entry) in map.members {
                var username = ""
                var password = ""
                if !entry.isNull {
                    guard entry.isObject else { throw undecodable }
                    for member in entry.members {
                        guard member.value.isNull || member.value.isString else { throw undecodable }
                        switch member.key {
                        case "username": username = member.value.string ?? ""
                        case "password": password = member.value.string ?? ""
                        default: throw undecodable
                        }
                    }
                }
                auth.append((key, RegistryCredential(username: username, password: password)))
            }
        }
        return CredentialProviderResponse(cacheKeyType: cacheKeyType, cacheDuration: cacheDuration, auth: auth)
    }
}
