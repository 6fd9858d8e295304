/// The two docker config formats a pull secret can carry.
public enum DockerConfigFormat: String, Sendable, Equatable {
    /// `kubernetes.io/dockerconfigjson`, data key `.dockerconfigjson`: `{"auths": {...}}`.
    case dockerConfigJSON = "kubernetes.io/dockerconfigjson"
    /// `kubernetes.io/dockercfg`, data key `.dockercfg`: the registry map itself, no `auths`.
    case dockercfg = "kubernetes.io/dockercfg"

    /// The Secret data key that holds the config.
    public var dataKey: String {
        switch self {
        case .dockerConfigJSON: ".dockerconfigjson"
        case .dockercfg: ".dockercfg"
        }
    }
}

/// One usable pull secret: the raw docker config bytes, to be parsed by the keyring.
public struct PullSecret: Sendable, Equatable, CustomStringConvertible {
    public var name: String
    public var format: DockerConfigFormat
    public var config: [UInt8]

    public init(name: String, format: DockerConfigFormat, config: [UInt8]) {
        self.name = name
        self.format = format
        self.config = config
    }

    /// Never the data.
    public var description: String { "\(name) (\(format.rawValue), \(config.count) bytes)" }
}

/// A named pull secret that gives no credentials, and why. Safe to log.
public struct SkippedPullSecret: Sendable, Equatable, CustomStringConvertible {
    public enum Reason: Sendable, Equatable {
        /// The read failed (not found, forbidden, unreachable); the kubelet skips these too.
        case unavailable(KubernetesAPIError)
        /// Not a docker config Secret, or without a non-empty data key for its type; ignored as the kubelet does.
        case notDockerConfig(type: String)
        /// More names than `PullSecrets.maximumSecrets`; not read.
        case overLimit(Int)
    }
    public var name: String
    public var reason: Reason

    public var description: String {
        switch reason {
        case .unavailable(let error): "pull secret \(quoted(name)): \(error)"
        case .notDockerConfig(let type):
            "pull secret \(quoted(name)) is ignored: type \(quoted(type)) with no non-empty \(DockerConfigFormat.dockerConfigJSON.dataKey) or \(DockerConfigFormat.dockercfg.dataKey) for its type"
        case .overLimit(let limit): "pull secret \(quoted(name)) is not read: more than \(limit) pull secrets"
        }
    }
}

/// What the kubelet would pull with: the usable secrets in order, and the names skipped.
public struct PullSecretLookup: Sendable, Equatable {
    public var secrets: [PullSecret]
    public var skipped: [SkippedPullSecret]
    /// The ServiceAccount whose `imagePullSecrets` were used (a workload template that names none).
    public var serviceAccount: String?
    /// Why that ServiceAccount could not be read; then there are no secrets.
    public var serviceAccountError: KubernetesAPIError?

    public init(secrets: [PullSecret] = [], skipped: [SkippedPullSecret] = [], serviceAccount: String? = nil, serviceAccountError: KubernetesAPIError? = nil) {
        self.secrets = secrets
        self.skipped = skipped
        self.serviceAccount = serviceAccount
        self.serviceAccountError = serviceAccountError
    }
}

/// The pull secrets the kubelet would use for a pod, read as it reads them
/// (k/k `pkg/kubelet/kubelet_pods.go` `getPullSecretsForPod`, `pkg/credentialprovider/secrets`).
public struct PullSecrets: Sendable {
    public let reader: any KubernetesObjectReader
    /// Names read per pod; the rest are skipped with `.overLimit`, so one object cannot fan out unbounded.
    public let maximumSecrets: Int
    public static let defaultMaximumSecrets = 32

    public init(reader: any KubernetesObjectReader, maximumSecrets: Int = PullSecrets.defaultMaximumSecrets) {
        self.reader = reader
        self.maximumSecrets = max(1, maximumSecrets)
    }

    /// A Pod: its `imagePullSecrets` as they are. The ServiceAccount admission plugin has already
    /// copied the ServiceAccount's into a Pod that named none, so it is not read again.
    public func forPod(namespace: String, imagePullSecrets: [String]) async -> PullSecretLookup {
        await read(namespace: namespace, names: imagePullSecrets)
    }

    /// A workload's pod template: its `imagePullSecrets`, or, when it names none at all (an entry
    /// with an empty name counts), those of its ServiceAccount (`serviceAccountName`, default
    /// `default`), which the plugin will copy into each Pod the controller creates.
    public func forTemplate(namespace: String, imagePullSecrets: [String], serviceAccountName: String?) async -> PullSecretLookup {
        guard imagePullSecrets.isEmpty else { return await read(namespace: namespace, names: imagePullSecrets) }
        let account = serviceAccountName.flatMap { $0.isEmpty ? nil : $0 } ?? "default"
        do throws(KubernetesAPIError) {
            let found = try await reader.serviceAccount(namespace: namespace, name: account)
            var lookup = await read(namespace: namespace, names: found.imagePullSecrets)
            lookup.serviceAccount = account
            return lookup
        } catch {
            return PullSecretLookup(serviceAccount: account, serviceAccountError: error)
        }
    }

    /// The docker config a Secret gives, as the kubelet decides it: the type and its own data key,
    /// non-empty. Anything else gives none.
    public static func dockerConfig(of secret: Secret) -> PullSecret? {
        guard let format = DockerConfigFormat(rawValue: secret.type),
              let bytes = secret.data[format.dataKey], !bytes.isEmpty else { return nil }
        return PullSecret(name: secret.name, format: format, config: bytes)
    }

    /// Reads `names` in order (empty names skipped, as the kubelet does), concurrently.
    private func read(namespace: String, names: [String]) async -> PullSecretLookup {
        let wanted = names.filter { !$0.isEmpty }
        let reading = Array(wanted.prefix(maximumSecrets))
        let reader = self.reader
        var answers = [Result<Secret, KubernetesAPIError>?](repeating: nil, count: reading.count)
        await withTaskGroup(of: (Int, Result<Secret, KubernetesAPIError>).self) { group in
            for (index, name) in reading.enumerated() {
                group.addTask {
                    do throws(KubernetesAPIError) {
                        return (index, .success(try await reader.secret(namespace: namespace, name: name)))
                    } catch {
                        return (index, .failure(error))
                    }
                }
            }
            for await (index, answer) in group { answers[index] = answer }
        }
        var lookup = PullSecretLookup()
        for (name, answer) in zip(reading, answers) {
            switch answer {
            case .success(let secret):
                if let usable = PullSecrets.dockerConfig(of: secret) {
                    lookup.secrets.append(usable)
                } else {
                    lookup.skipped.append(SkippedPullSecret(name: name, reason: .notDockerConfig(type: secret.type)))
                }
            case .failure(let error):
                lookup.skipped.append(SkippedPullSecret(name: name, reason: .unavailable(error)))
            case nil:
                break
            }
        }
        for name in wanted.dropFirst(maximumSecrets) {
            lookup.skipped.append(SkippedPullSecret(name: name, reason: .overLimit(maximumSecrets)))
        }
        return lookup
    }
}
