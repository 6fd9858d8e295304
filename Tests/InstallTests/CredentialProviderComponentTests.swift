import Foundation
import Testing
import TestSupport

/// components/credential-provider: the kubelet's plugins and CredentialProviderConfig in the webhook's pod.
@Suite("credential-provider component")
struct CredentialProviderComponentTests {
    static let configDirectory = "/etc/nonroot-admission/credential-provider/config"
    static let binDirectory = "/etc/nonroot-admission/credential-provider/bin"

    static func renderWithComponent() async throws -> RenderedOverlay {
        try await RenderedOverlay.renderDryRun(as: "credential-provider-test", with: ["credential-provider"], extra: """
            images:
            - name: credential-provider-plugins
              newName: registry.example.com/platform/credential-provider-plugins
              newTag: "1.0"

            """)
    }

    @Test func theWebhookReadsTheConfigAndThePluginsCopiedByTheInitContainer() async throws {
        let rendered = try await Self.renderWithComponent()
        let environment = try rendered.environment
        #expect(environment["NONROOT_ADMISSION_IMAGE_CREDENTIAL_PROVIDER_CONFIG"] == Self.configDirectory + "/config.yaml")
        #expect(environment["NONROOT_ADMISSION_IMAGE_CREDENTIAL_PROVIDER_BIN_DIR"] == Self.binDirectory)
        // Both are options serve knows, under the kubelet's names.
        let help = try await Shell.check(try Install.requireExecutable(), ["serve", "--help"])
        #expect(help.contains("--image-credential-provider-config") && help.contains("--image-credential-provider-bin-dir"))

        let pod = try #require(try rendered.deployment[path: "spec.template.spec"] as? [String: Any])
        let volumes = pod["volumes"] as? [[String: Any]] ?? []
        let mounts = try rendered.container["volumeMounts"] as? [[String: Any]] ?? []
        let configMount = try #require(mounts.first { $0["mountPath"] as? String == Self.configDirectory })
        let binMount = try #require(mounts.first { $0["mountPath"] as? String == Self.binDirectory })
        #expect(configMount["readOnly"] as? Bool == true && binMount["readOnly"] as? Bool == true)
        let configVolume = try #require(volumes.first { $0["name"] as? String == configMount["name"] as? String })
        let configMap = try rendered.object(kind: "ConfigMap", name: try #require(configVolume[path: "configMap.name"] as? String))
        let config = try #require((configMap["data"] as? [String: String])?["config.yaml"])
        #expect(config.hasPrefix("apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders:\n- name: ecr-credential-provider\n"))
        let binVolume = try #require(volumes.first { $0["name"] as? String == binMount["name"] as? String })
        #expect(binVolume[path: "emptyDir.sizeLimit"] as? String == "200Mi")

        let initContainers = pod["initContainers"] as? [[String: Any]] ?? []
        #expect(initContainers.count == 1)
        let copier = try #require(initContainers.first)
        #expect(copier["image"] as? String == "registry.example.com/platform/credential-provider-plugins:1.0")
        #expect(copier["command"] as? [String] == ["cp", "-R", "/plugins/.", "/credential-provider/bin/"])
        let copierMounts = copier["volumeMounts"] as? [[String: Any]] ?? []
        #expect(copierMounts.map { $0["name"] as? String } == [binMount["name"] as? String])
        #expect(copierMounts.first?["mountPath"] as? String == "/credential-provider/bin")
        // The same restrictions as the webhook's own container.
        let restrictions = copier["securityContext"] as? [String: Any] ?? [:]
        #expect(restrictions["runAsNonRoot"] as? Bool == true)
        #expect(restrictions["runAsUser"] as? Int == 65532)
        #expect(restrictions["readOnlyRootFilesystem"] as? Bool == true)
        #expect(restrictions["allowPrivilegeEscalation"] as? Bool == false)
        #expect(restrictions[path: "capabilities.drop"] as? [String] == ["ALL"])
        #expect(restrictions[path: "seccompProfile.type"] as? String == "RuntimeDefault")
        // No API access comes with it.
        #expect(try rendered.deployment[path: "spec.template.spec.automountServiceAccountToken"] as? Bool == false)
    }

    /// `check --policy restricted`, with numeric USERs for both images: the initContainer passes the
    /// webhook's own policy, and so does the rest.
    @Test func theInitContainerPassesTheWebhooksOwnPolicy() async throws {
        let rendered = try await Self.renderWithComponent()
        let webhookImage = try #require(try rendered.container["image"] as? String)
        let scratch = try TemporaryDirectory()
        let catalog = try scratch.write("catalog.yaml", """
            images:
              "\(webhookImage)": "65532"
              "registry.example.com/platform/credential-provider-plugins:1.0": "65532"

            """)
        let executable = try Install.requireExecutable()
        let result = try await Shell.run(executable, ["check", "--policy", "restricted", "--images", catalog, rendered.file])
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains(" 0 denied, 0 would deny"), "\(result)")
        // A plugin image that runs as root would be refused: the check does read the initContainer.
        let rootCatalog = try scratch.write("root.yaml", """
            images:
              "\(webhookImage)": "65532"
              "registry.example.com/platform/credential-provider-plugins:1.0": ""

            """)
        let withoutUser = rendered.yaml.replacingOccurrences(of: "runAsUser: 65532\n", with: "\n")
        let file = try scratch.write("no-run-as-user.yaml", withoutUser)
        let refused = try await Shell.run(executable, ["check", "--policy", "restricted", "--images", rootCatalog, file])
        #expect(refused.status == 1, "\(refused)")
        #expect(refused.stdout.contains("credential-provider-plugins"), "\(refused)")
    }

    /// The example config is one the webhook loads: strict kubelet decoding, the plugin binary it names.
    @Test func theExampleConfigLoads() async throws {
        let rendered = try await Self.renderWithComponent()
        let configMap = try rendered.object(kind: "ConfigMap", name: "nonroot-admission-credential-provider")
        let config = try #require((configMap["data"] as? [String: String])?["config.yaml"])
        let scratch = try TemporaryDirectory()
        let file = try scratch.write("config.yaml", config)
        let plugin = try scratch.write("bin/ecr-credential-provider", "#!/bin/sh\nexit 1\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: plugin)
        let executable = try Install.requireExecutable()
        // An image the plugin does not match: the config is loaded, the lookup refused by the SSRF guard.
        let result = try await Shell.run(executable, [
            "images", "--image-credential-provider-config", file, "--image-credential-provider-bin-dir", scratch.file("bin"), "127.0.0.1:5/app:1",
        ])
        #expect(result.status == 2, "\(result)")
        #expect(result.stdout == "127.0.0.1:5/app:1\n  error: registry address 127.0.0.1 is a loopback address; lookups there need --registry-allow-private\n", "\(result)")
        // Without the binary the config is refused at startup, naming the path.
        try FileManager.default.removeItem(atPath: plugin)
        let missing = try await Shell.run(executable, [
            "images", "--image-credential-provider-config", file, "--image-credential-provider-bin-dir", scratch.file("bin"), "127.0.0.1:5/app:1",
        ])
        #expect(missing.status == 2, "\(missing)")
        #expect(missing.stderr.contains("plugin binary executable \(scratch.file("bin"))/ecr-credential-provider did not exist"), "\(missing)")
    }

    @Test func theComponentValidatesAgainstKubernetesSchemas() async throws {
        let rendered = try await Self.renderWithComponent()
        let (result, passed) = try await rendered.validate()
        #expect(result.succeeded, "\(result)")
        #expect(passed == rendered.documents.count, "\(result)")
    }
}
