import Foundation
import Testing
import TestSupport

/// components/pull-secrets: opt-in API access for reading pull secrets, and none without it.
@Suite("pull-secrets component")
struct PullSecretsComponentTests {
    static let rbacKinds: Set<String> = ["Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"]

    /// Every overlay under deploy/overlays (none includes the component): no token, no RBAC.
    @Test(arguments: Install.overlays)
    func theDefaultInstallHasNoAPIAccess(_ overlay: String) async throws {
        let rendered = try await RenderedOverlay.render(overlay)
        #expect(try rendered.deployment[path: "spec.template.spec.automountServiceAccountToken"] as? Bool == false)
        #expect(try rendered.object(kind: "ServiceAccount", name: "nonroot-admission")["automountServiceAccountToken"] as? Bool == false)
        #expect(rendered.documents.filter { Self.rbacKinds.contains($0["kind"] as? String ?? "") }.isEmpty)
        #expect(!rendered.yaml.contains("serviceAccountToken"))
        #expect(try rendered.environment["NONROOT_ADMISSION_PULL_SECRETS"] == nil)
    }

    static func renderWithComponent() async throws -> RenderedOverlay {
        try await RenderedOverlay.renderDryRun(as: "pull-secrets-test", with: ["pull-secrets"])
    }

    @Test func theComponentGrantsExactlyGetOnSecretsAndServiceAccounts() async throws {
        let rendered = try await Self.renderWithComponent()
        let role = try rendered.object(kind: "ClusterRole", name: "nonroot-admission-pull-secrets")
        let rules = try #require(role["rules"] as? [[String: Any]])
        #expect(rules.count == 1)
        #expect(rules.first?["apiGroups"] as? [String] == [""])
        #expect(rules.first?["resources"] as? [String] == ["secrets", "serviceaccounts"])
        #expect(rules.first?["verbs"] as? [String] == ["get"])
        #expect(rules.first?["resourceNames"] == nil && rules.first?["nonResourceURLs"] == nil)

        let binding = try rendered.object(kind: "ClusterRoleBinding", name: "nonroot-admission-pull-secrets")
        #expect(binding[path: "roleRef.kind"] as? String == "ClusterRole")
        #expect(binding[path: "roleRef.name"] as? String == "nonroot-admission-pull-secrets")
        let subjects = try #require(binding["subjects"] as? [[String: String]])
        #expect(subjects == [["kind": "ServiceAccount", "name": "nonroot-admission", "namespace": Install.namespace]])
        // The only RBAC objects rendered.
        #expect(rendered.documents.filter { Self.rbacKinds.contains($0["kind"] as? String ?? "") }.count == 2)

        #expect(try rendered.deployment[path: "spec.template.spec.automountServiceAccountToken"] as? Bool == true)
        #expect(try rendered.deployment[path: "spec.template.spec.serviceAccountName"] as? String == "nonroot-admission")
        // Including the component is the one step: it turns serve --pull-secrets on itself.
        #expect(try rendered.environment["NONROOT_ADMISSION_PULL_SECRETS"] == "true")
        let egress = try rendered.object(kind: "NetworkPolicy", name: "nonroot-admission")[path: "spec.egress"] as? [[String: Any]] ?? []
        let ports = egress.flatMap { $0["ports"] as? [[String: Any]] ?? [] }.compactMap { $0["port"] as? Int }
        #expect(ports.contains(443) && ports.contains(6443), "\(ports)")
    }

    @Test func theComponentValidatesAgainstKubernetesSchemas() async throws {
        let rendered = try await Self.renderWithComponent()
        let (result, passed) = try await rendered.validate()
        #expect(result.succeeded, "\(result)")
        #expect(passed == rendered.documents.count, "\(result)")
    }
}
