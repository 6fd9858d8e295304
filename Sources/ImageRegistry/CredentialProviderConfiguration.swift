#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
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
