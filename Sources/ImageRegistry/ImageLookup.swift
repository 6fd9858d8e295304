public import ImageConfig
public import ImageResolution

/// Where image USERs come from: the catalog first (offline, air-gapped, overrides), then the
/// registry when lookups are enabled.
public struct ImageLookup: Sendable {
    public var catalog: ImageCatalog
    public var registry: RegistryLookup?

    public init(catalog: ImageCatalog, registry: RegistryLookup? = nil) {
        self.catalog = catalog
        self.registry = registry
    }

    /// Every answer when none needs the network (catalog entries and cached registry answers), else
    /// nil. Without a registry the catalog's "not in the image catalog" is the answer.
    /// `pullSecrets`: the pod's pull secrets, tried before the node's credentials.
    public func knownOffline(_ images: [String], pullSecrets: DockerKeyring? = nil) -> [String: ImageUserLookup]? {
        var found: [String: ImageUserLookup] = [:]
        found.reserveCapacity(images.count)
        for image in images {
            guard let lookup = knownOffline(image, pullSecrets: pullSecrets) else { return nil }
            found[image] = lookup
        }
        return found
    }

    /// What is known of `image` without waiting: the catalog's entry, a cached registry answer, or, with
    /// no registry, the catalog's "not in the image catalog". Nil when the registry must be asked.
    public func knownOffline(_ image: String, pullSecrets: DockerKeyring? = nil) -> ImageUserLookup? {
        let lookup = catalog.lookup(image)
        guard case .unresolved = lookup, let registry else { return lookup }
        return registry.cachedAnswer(for: image, pullSecrets: pullSecrets)
    }

    /// Answers for `images` by `deadline`: catalog entries at once, the rest from the registry, concurrently.
    public func lookUp(_ images: [String], pullSecrets: DockerKeyring? = nil, deadline: ContinuousClock.Instant) async -> [String: ImageUserLookup] {
        var found: [String: ImageUserLookup] = [:]
        var remote: [String] = []
        for image in images {
            let lookup = catalog.lookup(image)
            if case .unresolved = lookup, registry != nil { remote.append(image) } else { found[image] = lookup }
        }
        guard let registry, !remote.isEmpty else { return found }
        if remote.count == 1 {
            found[remote[0]] = await registry.lookup(remote[0], pullSecrets: pullSecrets, deadline: deadline)
            return found
        }
        await withTaskGroup(of: (String, ImageUserLookup).self) { group in
            for image in remote {
                group.addTask { (image, await registry.lookup(image, pullSecrets: pullSecrets, deadline: deadline)) }
            }
            for await (image, lookup) in group { found[image] = lookup }
        }
        return found
    }
}
