#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import JSON
import Logging
import Metrics
import Synchronization

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
