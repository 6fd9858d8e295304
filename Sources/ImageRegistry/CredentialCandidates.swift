import Crypto

/// One credential to try for a lookup, and where it came from (for messages; never the secret).
struct CredentialCandidate: Sendable {
    var credential: RegistryCredential
    /// `a pull secret`, `--registry-auth-file`, `credential provider plugin NAME`.
    var source: String
    /// A hash of the credential, for the token cache key.
    var fingerprint: String

    init(_ credential: RegistryCredential, source: String) {
        self.credential = credential
        self.source = source
        self.fingerprint = CredentialCandidates.hash([credential])
    }
}

/// The credentials of one lookup in the kubelet's order: pod pull secrets, the node's config
/// (`--registry-auth-file`), then credential provider plugins. `fingerprint` keys every cache that
/// holds answers, so an answer fetched with one pod's credentials never serves a lookup with others.
struct CredentialCandidates: Sendable {
    var candidates: [CredentialCandidate] = []
    /// Empty when there are no candidates (anonymous), else a hash of them all, in order.
    var fingerprint = ""
    /// Plugins that failed for this lookup (`RegistryError.credentialProvider`): their credentials are
    /// missing from `candidates`, and a failed lookup names them. Not part of `fingerprint`: the
    /// answers cached are the registry's for the credentials actually sent.
    var pluginFailures: [RegistryError] = []

    init(_ candidates: [CredentialCandidate] = []) {
        self.candidates = candidates
        self.fingerprint = candidates.isEmpty ? "" : CredentialCandidates.hash(candidates.map(\.credential))
    }

    /// SHA-256 over length-prefixed user names and passwords, 128 bits in hex: a cache key that
    /// does not reveal the secret.
    static func hash(_ credentials: [RegistryCredential]) -> String {
        var hasher = SHA256()
        for credential in credentials {
            for part in [credential.username, credential.password] {
                let bytes = Array(part.utf8)
                hasher.update(data: Array("\(bytes.count):".utf8))
                hasher.update(data: bytes)
            }
        }
        return hasher.finalize().prefix(16).map { byte in
            let digits = Array("0123456789abcdef".utf8)
            return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 15)]], as: UTF8.self)
        }.joined()
    }

    /// The candidates from each keyring for `repository`, in the kubelet's order.
    static func from(pullSecrets: DockerKeyring?, node: DockerKeyring, plugins: DockerKeyring?, repository: String) -> CredentialCandidates {
        var list: [CredentialCandidate] = []
        if let pullSecrets {
            list += pullSecrets.lookup(repository).map { CredentialCandidate($0, source: "a pull secret") }
        }
        list += node.lookup(repository).map { CredentialCandidate($0, source: "--registry-auth-file") }
        if let plugins {
            list += plugins.lookup(repository).map { CredentialCandidate($0, source: "a credential provider plugin") }
        }
        return CredentialCandidates(list)
    }
}
