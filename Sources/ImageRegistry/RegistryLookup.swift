public import ImageConfig
import ImageResolution
import NIOHTTP1
import Synchronization

/// Looks image USERs up in registries, with caches, single-flight and deadlines.
///
/// - A manifest fetched by digest is immutable: its result is cached by digest (LRU).
/// - A tag's digest is trusted for `tagTTL`, then checked with a HEAD request.
/// - If that HEAD fails, the last answer for the tag stands for another TTL (stale if error).
/// - A failure is remembered for `failureTTL` (longer if the registry's Retry-After says so).
/// - Concurrent lookups of one reference share one fetch; each waits only until its own deadline,
///   and a fetch that outlives its first waiter still fills the cache for the next.
public final class RegistryLookup: Sendable {
    public let configuration: RegistryConfiguration
    let client: RegistryClient
    let metrics: RegistryMetrics
    /// The kubelet's image credential provider plugins, when configured.
    let providers: CredentialProviders?
    private let state: Mutex<State>

    private struct State {
        /// Finished answers by the pod's own image text, so a hit costs one dictionary lookup.
        var answers: [String: Answer] = [:]
        var manifests: LRUCache<String, ResolvedImage>
        var configs: LRUCache<String, ImageConfiguration>
        var tags: [String: TagEntry] = [:]
        var failures: [String: FailureEntry] = [:]
        var flights: [String: Flight] = [:]
    }

    private struct Answer {
        var lookup: ImageUserLookup
        /// When a tag must be checked again; nil for a reference pinned by digest.
        var validUntil: ContinuousClock.Instant?
        var cache: RegistryMetrics.Cache
    }

    private struct TagEntry {
        var digest: String
        var checked: ContinuousClock.Instant
    }

    private struct FailureEntry {
        var error: RegistryError
        var expires: ContinuousClock.Instant
    }

    public init(configuration: RegistryConfiguration) throws(RegistrySetupError) {
        self.configuration = configuration
        self.metrics = RegistryMetrics()
        self.client = RegistryClient(transport: try RegistryTransport(configuration: configuration, metrics: metrics), metrics: metrics)
        self.providers = configuration.credentialProviders.map { CredentialProviders(configuration: $0) }
        self.state = Mutex(State(manifests: LRUCache(capacity: configuration.cacheSize), configs: LRUCache(capacity: configuration.cacheSize)))
    }

    /// Closes the client's connections. Call once, after the last lookup.
    public func shutdown() async {
        await client.transport.shutdown()
    }

    /// The USER of `image` per platform, or why it cannot be told, by `deadline`.
    ///
    /// `pullSecrets` holds the pod's pull secrets, all merged into one keyring as the kubelet does;
    /// their matches are tried before the node's (`--registry-auth-file`) and the plugins'.
    public func lookup(_ image: String, pullSecrets: DockerKeyring? = nil, deadline: ContinuousClock.Instant) async -> ImageUserLookup {
        if let answer = cachedAnswer(for: image, pullSecrets: pullSecrets) { return answer }
        let started = ContinuousClock.now
        let (result, suffix) = await resolveKeyed(image, pullSecrets: pullSecrets, deadline: deadline)
        metrics.lookup(found: (try? result.get()) != nil, duration: .now - started)
        switch result {
        case .success(let resolved):
            let lookup = resolved.lookup
            let validUntil = resolved.reference.digest == nil ? tagCheckedAt(resolved.reference.description + suffix).map { $0 + configuration.tagTTL } ?? .now : nil
            state.withLock { state in
                if state.answers.count >= configuration.cacheSize * 4 { state.answers.removeAll(keepingCapacity: true) }
                state.answers[image + suffix] = Answer(lookup: lookup, validUntil: validUntil, cache: validUntil == nil ? .manifest : .tag)
            }
            return lookup
        case .failure(let error):
            return .unresolved(reason: error.description)
        }
    }

    /// The answer for `image` if it is cached and still valid, without waiting: the server decides such
    /// reviews on the event loop, as it does catalog hits.
    /// With credentials the answer is the one fetched with the same ones; nil when a credential
    /// plugin would have to run first.
    public func cachedAnswer(for image: String, pullSecrets: DockerKeyring? = nil) -> ImageUserLookup? {
        let started = ContinuousClock.now
        var key = image
        if pullSecrets != nil || usesCredentials {
            guard let reference = try? ImageReference(parsing: image),
                  let candidates = cachedCandidates(for: reference.name, pullSecrets: pullSecrets) else { return nil }
            key += RegistryLookup.suffix(candidates)
        }
        let hot = state.withLock { state -> Answer? in
            guard let answer = state.answers[key] else { return nil }
            if let validUntil = answer.validUntil, validUntil <= started {
                state.answers[key] = nil
                return nil
            }
            return answer
        }
        guard let hot else { return nil }
        metrics.cache(hot.cache, hit: true)
        metrics.lookup(found: true, duration: .now - started)
        return hot.lookup
    }

    /// When the tag under `key` was last resolved to its digest.
    private func tagCheckedAt(_ key: String) -> ContinuousClock.Instant? {
        state.withLock { $0.tags[key]?.checked }
    }

    /// Whether lookups may carry credentials without a pod's pull secrets.
    private var usesCredentials: Bool { !configuration.credentials.isEmpty || providers != nil }

    /// The cache-key suffix for a set of candidates: empty for anonymous lookups.
    static func suffix(_ candidates: CredentialCandidates) -> String {
        candidates.fingerprint.isEmpty ? "" : "|" + candidates.fingerprint
    }

    /// The credentials to try for `repository`, running the matching plugins (or reading their cache).
    /// A plugin that fails adds no candidates and is recorded in `pluginFailures`.
    func candidates(for repository: String, pullSecrets: DockerKeyring?, deadline: ContinuousClock.Instant) async -> CredentialCandidates {
        var plugins: DockerKeyring?
        var failures: [RegistryError] = []
        if let providers {
            (plugins, failures) = await providers.keyring(for: repository, deadline: min(deadline, .now + configuration.timeout))
        }
        var found = CredentialCandidates.from(pullSecrets: pullSecrets, node: configuration.credentials, plugins: plugins, repository: repository)
        found.pluginFailures = failures
        return found
    }

    /// The same without running anything; nil when a plugin's answer is not cached.
    func cachedCandidates(for repository: String, pullSecrets: DockerKeyring?) -> CredentialCandidates? {
        var plugins: DockerKeyring?
        if let providers {
            guard let cached = providers.cachedKeyring(for: repository) else { return nil }
            plugins = cached
        }
        return .from(pullSecrets: pullSecrets, node: configuration.credentials, plugins: plugins, repository: repository)
    }

    /// The digest and per-platform USERs of `image`, or the error.
    public func resolve(_ image: String, pullSecrets: DockerKeyring? = nil, deadline: ContinuousClock.Instant) async -> Result<ResolvedImage, RegistryError> {
        await resolveKeyed(image, pullSecrets: pullSecrets, deadline: deadline).result
    }

    /// The result, and the cache-key suffix of the credentials it was fetched with.
    private func resolveKeyed(_ image: String, pullSecrets: DockerKeyring?, deadline: ContinuousClock.Instant) async -> (result: Result<ResolvedImage, RegistryError>, suffix: String) {
        let reference: ImageReference
        do {
            reference = try ImageReference(parsing: image)
        } catch {
            return (.failure(.invalidReference(error.description)), "")
        }
        guard configuration.isAllowed(reference.registry) else { return (.failure(.notAllowed(registry: reference.registry)), "") }
        let found = await candidates(for: reference.name, pullSecrets: pullSecrets, deadline: deadline)
        let suffix = RegistryLookup.suffix(found)
        let result = await resolve(reference, candidates: found, suffix: suffix, deadline: deadline)
        // Without a plugin's credentials the registry may refuse what it would have allowed: say so.
        if case .failure(let error) = result, !found.pluginFailures.isEmpty {
            return (.failure(.withoutCredentialProviders(failures: found.pluginFailures, then: error)), suffix)
        }
        return (result, suffix)
    }

    private func resolve(_ reference: ImageReference, candidates: CredentialCandidates, suffix: String, deadline: ContinuousClock.Instant) async -> Result<ResolvedImage, RegistryError> {
        // Every cache keyed by reference carries the credentials' fingerprint: what one pod's
        // credentials fetched is never an answer for a lookup with other credentials (or none).
        let key = reference.description + suffix
        let now = ContinuousClock.now
        enum Next {
            case done(Result<ResolvedImage, RegistryError>)
            case wait(Flight)
        }
        let next: Next = state.withLock { state in
            if let failure = state.failures[key] {
                if failure.expires > now {
                    metrics.cache(.failure, hit: true)
                    return .done(.failure(failure.error))
                }
                state.failures[key] = nil
            }
            var staleDigest: String?
            if let digest = reference.digest {
                if let cached = state.manifests.value(for: reference.name + "@" + digest + suffix) {
                    metrics.cache(.manifest, hit: true)
                    return .done(.success(cached.with(reference)))
                }
                metrics.cache(.manifest, hit: false)
            } else if let entry = state.tags[key] {
                if now - entry.checked < configuration.tagTTL, let cached = state.manifests.value(for: reference.name + "@" + entry.digest + suffix) {
                    metrics.cache(.tag, hit: true)
                    return .done(.success(cached.with(reference)))
                }
                staleDigest = entry.digest
                metrics.cache(.tag, hit: false)
            } else {
                metrics.cache(.tag, hit: false)
            }
            if let flight = state.flights[key] { return .wait(flight) }
            let flight = Flight()
            state.flights[key] = flight
            let fetchDeadline = now + configuration.timeout
            metrics.flightStarted()
            Task { [self] in
                let result = await FetchProgress.$current.withValue(flight.progress) {
                    await fetch(reference, candidates: candidates.candidates, suffix: suffix, staleDigest: staleDigest, deadline: fetchDeadline)
                }
                finish(key, reference: reference, suffix: suffix, result: result)
                flight.complete(result)
                metrics.flightFinished()
            }
            return .wait(flight)
        }
        switch next {
        case .done(let result):
            return result
        case .wait(let flight):
            if let result = await flight.wait(until: min(deadline, now + configuration.timeout)) { return result }
            // The fetch goes on for the cache; if lookups are queued behind a global limit, that is the reason.
            if let limit = flight.progress.blockedBy {
                metrics.refusedByLimit(limit)
                return .failure(.busy(limit))
            }
            return .failure(.timeout(after: min(deadline - now, configuration.timeout)))
        }
    }

    private func finish(_ key: String, reference: ImageReference, suffix: String, result: Result<ResolvedImage, RegistryError>) {
        let now = ContinuousClock.now
        state.withLock { state in
            state.flights[key] = nil
            switch result {
            case .success(let resolved):
                state.manifests.set(resolved, for: reference.name + "@" + resolved.digest + suffix)
                if reference.digest == nil {
                    if state.tags.count >= configuration.cacheSize * 4 { state.tags.removeAll(keepingCapacity: true) }
                    state.tags[key] = TagEntry(digest: resolved.digest, checked: now)
                }
            case .failure(.busy):
                // The webhook's own load, not the registry's answer: the next review may find room.
                break
            case .failure(let error):
                var lifetime = configuration.failureTTL
                if case .status(_, _, _, _, let retryAfter?) = error, let seconds = Int64(retryAfter), seconds > 0 {
                    lifetime = max(lifetime, .seconds(min(seconds, 300)))
                }
                if state.failures.count >= configuration.cacheSize * 4 {
                    state.failures = state.failures.filter { $0.value.expires > now }
                    if state.failures.count >= configuration.cacheSize * 4 { state.failures.removeAll() }
                }
                state.failures[key] = FailureEntry(error: error, expires: now + lifetime)
            }
        }
    }

    // MARK: - Fetching

    /// Tries each candidate in turn until the registry accepts one, as the kubelet's puller does;
    /// anonymous only when there is none. A refusal (401, 403) moves to the next candidate; any
    /// other error is the answer, since other credentials would not change it.
    private func fetch(_ reference: ImageReference, candidates: [CredentialCandidate], suffix: String, staleDigest: String?, deadline: ContinuousClock.Instant) async -> Result<ResolvedImage, RegistryError> {
        guard !candidates.isEmpty else {
            do throws(RegistryError) {
                return .success(try await fetchManifest(reference, credential: nil, suffix: suffix, staleDigest: staleDigest, deadline: deadline))
            } catch {
                return .failure(error)
            }
        }
        var refusals: [RegistryError] = []
        for candidate in candidates {
            do throws(RegistryError) {
                return .success(try await fetchManifest(reference, credential: candidate, suffix: suffix, staleDigest: staleDigest, deadline: deadline))
            } catch {
                guard case .unauthorized = error else { return .failure(error) }
                refusals.append(error)
            }
        }
        if refusals.count == 1 { return .failure(refusals[0]) }
        return .failure(.everyCredentialRefused(sources: candidates.map(\.source), last: refusals[refusals.count - 1]))
    }

    private func fetchManifest(_ reference: ImageReference, credential: CredentialCandidate?, suffix: String, staleDigest: String?, deadline: ContinuousClock.Instant) async throws(RegistryError) -> ResolvedImage {
        let registry = reference.registry
        let repository = reference.repository
        if let digest = reference.digest {
            let result = try await client.manifest(registry, repository, reference: digest, method: .GET, credential: credential, deadline: deadline)
            try RegistryLookup.verify(result.body, against: digest, what: "manifest")
            return try await resolveManifest(result, digest: digest, reference: reference, credential: credential, deadline: deadline)
        }
        let tag = reference.tag ?? "latest"
        if let staleDigest {
            // The tag was resolved before: a HEAD says whether it still points at the same manifest.
            // If the registry cannot say (down, rate-limited, slow), the last answer stands for another
            // TTL: an outage must not turn known images into "cannot verify" (or denials, with
            // --unresolved deny). A digest that is no longer cached is fetched as usual.
            let head: HTTPResult
            do {
                head = try await client.manifest(registry, repository, reference: tag, method: .HEAD, credential: credential, deadline: deadline)
            } catch {
                if let cached = state.withLock({ $0.manifests.value(for: reference.name + "@" + staleDigest + suffix) }) {
                    metrics.staleAnswer()
                    return cached.with(reference)
                }
                throw error
            }
            if let current = head.headers.first(name: "docker-content-digest"), ContentDigest(current) != nil {
                let cached = state.withLock { $0.manifests.value(for: reference.name + "@" + current + suffix) }
                if let cached {
                    metrics.cache(.manifest, hit: true)
                    return cached.with(reference)
                }
                metrics.cache(.manifest, hit: false)
                let result = try await client.manifest(registry, repository, reference: current, method: .GET, credential: credential, deadline: deadline)
                try RegistryLookup.verify(result.body, against: current, what: "manifest")
                return try await resolveManifest(result, digest: current, reference: reference, credential: credential, deadline: deadline)
            }
        }
        let result = try await client.manifest(registry, repository, reference: tag, method: .GET, credential: credential, deadline: deadline)
        let digest = ContentDigest.sha256(of: result.body).description
        if let served = result.headers.first(name: "docker-content-digest"), let parsed = ContentDigest(served), parsed.algorithm == .sha256, parsed.description != digest {
            throw .digestMismatch(what: "manifest of tag \(tag)", expected: served, actual: digest)
        }
        return try await resolveManifest(result, digest: digest, reference: reference, credential: credential, deadline: deadline)
    }

    private func resolveManifest(_ result: HTTPResult, digest: String, reference: ImageReference, credential: CredentialCandidate?, deadline: ContinuousClock.Instant) async throws(RegistryError) -> ResolvedImage {
        let contentType = result.headers.first(name: "content-type") ?? ""
        let manifest = try await parse(result, what: "manifest \(reference.tag ?? digest)", deadline: deadline) { body throws(RegistryDocumentError) in
            try RegistryManifest.parse(body, contentType: contentType)
        }
        switch manifest {
        case .image(let config):
            let configuration = try await fetchConfig(reference, config.digest, credential: credential, deadline: deadline)
            return ResolvedImage(reference: reference, digest: digest, variants: [
                ResolvedVariant(platform: configuration.platform, user: configuration.user, manifestDigest: digest, configDigest: config.digest),
            ], isIndex: false)
        case .index(let descriptors):
            let all = select(descriptors)
            let selected = Array(all.prefix(configuration.maximumIndexEntries))
            let unevaluated = all.dropFirst(configuration.maximumIndexEntries).compactMap(\.platform)
            guard !all.isEmpty else {
                let wanted = configuration.platforms.isEmpty ? "linux or windows" : configuration.platforms.map(\.description).joined(separator: ", ")
                let available = descriptors.compactMap { $0.platform?.description }.joined(separator: ", ")
                throw .noPlatform(wanted: wanted, available: available)
            }
            let results = await withTaskGroup(of: (Int, Result<ResolvedVariant, RegistryError>).self) { group in
                for (position, descriptor) in selected.enumerated() {
                    group.addTask {
                        do throws(RegistryError) {
                            return (position, .success(try await self.resolveChild(descriptor, reference: reference, credential: credential, deadline: deadline)))
                        } catch {
                            return (position, .failure(error))
                        }
                    }
                }
                var collected: [(Int, Result<ResolvedVariant, RegistryError>)] = []
                for await result in group { collected.append(result) }
                return collected.sorted { $0.0 < $1.0 }.map(\.1)
            }
            var variants: [ResolvedVariant] = []
            for result in results {
                switch result {
                case .success(let variant): variants.append(variant)
                case .failure(let error): throw error
                }
            }
            return ResolvedImage(
                reference: reference, digest: digest, variants: variants, isIndex: true, unevaluatedPlatforms: unevaluated,
                indexEntryLimit: configuration.maximumIndexEntries)
        }
    }

    /// The index entries to evaluate: linux and windows ones (attestations say `unknown/unknown`),
    /// narrowed to `--platform` when given, both compared after containerd's normalisation.
    func select(_ descriptors: [Descriptor]) -> [Descriptor] {
        let wanted = configuration.platforms.map(\.normalized)
        return descriptors.filter { descriptor in
            guard let platform = descriptor.platform?.normalized, platform.os == "linux" || platform.os == "windows" else { return false }
            return wanted.isEmpty || wanted.contains(platform)
        }
    }

    private func resolveChild(_ descriptor: Descriptor, reference: ImageReference, credential: CredentialCandidate?, deadline: ContinuousClock.Instant) async throws(RegistryError) -> ResolvedVariant {
        let result = try await client.manifest(reference.registry, reference.repository, reference: descriptor.digest, method: .GET, credential: credential, deadline: deadline)
        try RegistryLookup.verify(result.body, against: descriptor.digest, what: "manifest")
        let contentType = result.headers.first(name: "content-type") ?? descriptor.mediaType ?? ""
        let manifest = try await parse(result, what: "manifest \(descriptor.digest)", deadline: deadline) { body throws(RegistryDocumentError) in
            try RegistryManifest.parse(body, contentType: contentType)
        }
        guard case .image(let config) = manifest else {
            throw .document(what: "manifest \(descriptor.digest)", reason: "an index inside an index is not supported")
        }
        let configuration = try await fetchConfig(reference, config.digest, credential: credential, deadline: deadline)
        return ResolvedVariant(platform: descriptor.platform ?? configuration.platform, user: configuration.user, manifestDigest: descriptor.digest, configDigest: config.digest)
    }

    private func fetchConfig(_ reference: ImageReference, _ digest: String, credential: CredentialCandidate?, deadline: ContinuousClock.Instant) async throws(RegistryError) -> ImageConfiguration {
        if let cached = state.withLock({ $0.configs.value(for: digest) }) {
            metrics.cache(.config, hit: true)
            return cached
        }
        metrics.cache(.config, hit: false)
        let result = try await client.blob(reference.registry, reference.repository, digest: digest, credential: credential, deadline: deadline)
        try RegistryLookup.verify(result.body, against: digest, what: "config blob")
        let configuration = try await parse(result, what: "config blob \(digest)", deadline: deadline) { body throws(RegistryDocumentError) in
            try ImageConfiguration.parse(body)
        }
        state.withLock { $0.configs.set(configuration, for: digest) }
        return configuration
    }

    /// Parses `result`'s body with its node tape charged to `--registry-max-bytes-in-flight`, waiting
    /// for room until `deadline`; the charge is given back as soon as the document is read.
    private func parse<Value>(
        _ result: HTTPResult, what: String, deadline: ContinuousClock.Instant,
        _ read: ([UInt8]) throws(RegistryDocumentError) -> Value
    ) async throws(RegistryError) -> Value {
        let gate = client.transport.bytes
        let amount = result.body.count * RegistryConfiguration.parseBytesPerByte
        try await client.transport.acquire(amount, from: gate, as: .bytes(gate.capacity), deadline: deadline)
        defer { gate.release(amount) }
        do {
            return try read(result.body)
        } catch {
            throw .document(what: what, reason: error.reason)
        }
    }

    static func verify(_ body: [UInt8], against digest: String, what: String) throws(RegistryError) {
        guard let expected = ContentDigest(digest) else {
            throw .document(what: what, reason: "unsupported digest \(digest)")
        }
        guard expected.matches(body) else {
            throw .digestMismatch(what: what, expected: digest, actual: ContentDigest.sha256(of: body).description)
        }
    }
}

/// One in-progress fetch and the lookups waiting for it.
final class Flight: Sendable {
    /// Which global limit the fetch is queued behind, if any.
    let progress = FetchProgress()
    private struct State {
        var result: Result<ResolvedImage, RegistryError>?
        var waiters: [Int: CheckedContinuation<Result<ResolvedImage, RegistryError>?, Never>] = [:]
        var cancelled: Set<Int> = []
        var nextID = 0
    }

    private let state = Mutex(State())

    func complete(_ result: Result<ResolvedImage, RegistryError>) {
        let waiters = state.withLock { state in
            state.result = result
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: result) }
    }

    /// The result, or nil if `deadline` comes first.
    func wait(until deadline: ContinuousClock.Instant) async -> Result<ResolvedImage, RegistryError>? {
        if let result = state.withLock({ $0.result }) { return result }
        return await withTaskGroup(of: Result<ResolvedImage, RegistryError>?.self) { group in
            group.addTask { await self.value() }
            group.addTask {
                try? await Task.sleep(until: deadline, clock: .continuous)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    private func value() async -> Result<ResolvedImage, RegistryError>? {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<ResolvedImage, RegistryError>?, Never>) in
                let immediate: Result<ResolvedImage, RegistryError>?? = state.withLock { state in
                    if let result = state.result { return .some(result) }
                    if state.cancelled.remove(id) != nil { return .some(nil) }
                    state.waiters[id] = continuation
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Result<ResolvedImage, RegistryError>?, Never>? in
                if let waiter = state.waiters.removeValue(forKey: id) { return waiter }
                if state.result == nil { state.cancelled.insert(id) }
                return nil
            }
            waiter?.resume(returning: nil)
        }
    }
}
