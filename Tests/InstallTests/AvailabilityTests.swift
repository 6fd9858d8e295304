import Foundation
import Testing
import TestSupport

/// deploy/: enforce without deadlock (the namespaces that bring the webhook back are never judged),
/// the break-glass command, the guard on the opt-out labels, and client authentication.
@Suite("availability and access")
struct AvailabilityTests {
    /// deploy/base/excluded-namespaces.yaml, as shipped.
    static let excluded = ["nonroot-admission", "kube-system", "cert-manager", "kube-flannel", "calico-system", "tigera-operator", "cilium"]

    static func selector(_ webhook: [String: Any]) -> [[String: Any]] {
        webhook[path: "namespaceSelector.matchExpressions"] as? [[String: Any]] ?? []
    }

    static func expression(_ key: String, _ op: String, _ values: [String]) -> [String: Any] {
        ["key": key, "operator": op, "values": values]
    }

    static func same(_ left: [[String: Any]], _ right: [[String: Any]]) -> Bool {
        NSArray(array: left).isEqual(to: right)
    }

    @Test func theListFileIsWhatTheTestsExpect() throws {
        let documents = try YAML.documents(Install.deploy.appendingPathComponent("base/excluded-namespaces.yaml").path)
        #expect(documents.count == 1)
        #expect(documents.first?["namespaces"] as? [String] == Self.excluded)
        #expect(documents.first?[path: "metadata.annotations"] as? [String: String] == ["config.kubernetes.io/local-config": "true"])
    }

    /// Every webhook of every overlay: exactly the list, then the opt-out label, then (enforce) the mode split.
    @Test(arguments: Install.overlays)
    func everyWebhookExcludesExactlyTheList(_ overlay: String) async throws {
        let rendered = try await RenderedOverlay.render(overlay)
        #expect(rendered.objects(kind: "ExcludedNamespaces").isEmpty, "the local-config list must not be applied")
        let names = Self.expression("kubernetes.io/metadata.name", "NotIn", Self.excluded)
        let optOut = Self.expression("nonroot-admission.io/ignore", "NotIn", ["true"])
        let webhooks = try rendered.webhooks
        var expected: [String: [[String: Any]]] = ["nonroot.admission.io": [names, optOut]]
        if Install.enforces(overlay) {
            expected["nonroot.admission.io"]?.append(Self.expression("nonroot-admission.io/mode", "NotIn", ["dry-run"]))
            expected["nonroot-dryrun.admission.io"] = [names, optOut, Self.expression("nonroot-admission.io/mode", "In", ["dry-run"])]
        }
        #expect(Set(webhooks.compactMap { $0["name"] as? String }) == Set(expected.keys))
        for webhook in webhooks {
            let name = webhook["name"] as? String ?? "?"
            #expect(Self.same(Self.selector(webhook), expected[name] ?? []), "\(overlay) \(name): \(Self.selector(webhook))")
            #expect(webhook[path: "namespaceSelector.matchLabels"] == nil)
        }
    }

    /// Appending to the one list reaches both webhooks of the enforce overlay.
    @Test func oneEditExtendsEveryWebhook() async throws {
        let rendered = try await RenderedOverlay.renderAnew("enforce") { deploy in
            let file = deploy.appendingPathComponent("base/excluded-namespaces.yaml")
            let text = try String(contentsOf: file, encoding: .utf8)
            #expect(text.hasSuffix("- cilium\n"))
            try (text + "- longhorn-system\n").write(to: file, atomically: true, encoding: .utf8)
        }
        let webhooks = try rendered.webhooks
        #expect(webhooks.count == 2)
        for webhook in webhooks {
            let names = Self.selector(webhook).first { $0["key"] as? String == "kubernetes.io/metadata.name" }
            #expect(names?["values"] as? [String] == Self.excluded + ["longhorn-system"], "\(webhook["name"] ?? "?")")
        }
    }

    /// cert-manager's renewal never goes through the webhook: its namespace is excluded, and nothing it
    /// writes (its custom resources, Secrets, the webhook configuration's caBundle) is matched.
    @Test(arguments: ["cert-manager", "cert-manager-enforce"])
    func certificateRenewalNeverWaitsForTheWebhook(_ overlay: String) async throws {
        let rendered = try await RenderedOverlay.render(overlay)
        for webhook in try rendered.webhooks {
            let name = webhook["name"] as? String ?? "?"
            let names = Self.selector(webhook).first { $0["key"] as? String == "kubernetes.io/metadata.name" }
            #expect(names?["operator"] as? String == "NotIn")
            #expect((names?["values"] as? [String] ?? []).contains("cert-manager"), "\(name)")
            let rules = webhook["rules"] as? [[String: Any]] ?? []
            let groups = Set(rules.flatMap { $0["apiGroups"] as? [String] ?? [] })
            let resources = Set(rules.flatMap { $0["resources"] as? [String] ?? [] })
            #expect(groups == ["", "apps", "batch"], "\(name): \(groups)")
            #expect(resources == ["pods", "pods/ephemeralcontainers", "replicationcontrollers", "podtemplates", "deployments",
                                  "replicasets", "statefulsets", "daemonsets", "jobs", "cronjobs"], "\(name): \(resources)")
            #expect(!resources.contains("*") && !groups.contains("*"))
        }
        // The issued certificates live in the webhook's namespace, which is excluded too.
        for certificate in rendered.objects(kind: "Certificate") {
            #expect(certificate[path: "metadata.namespace"] as? String == Install.namespace)
        }
    }

    /// The documented break-glass command, run offline against the rendered configuration: afterwards
    /// no webhook fails closed.
    @Test(arguments: ["enforce", "cert-manager-enforce", "enforce-client-auth"])
    func theBreakGlassCommandFailsOpen(_ overlay: String) async throws {
        let readme = try String(contentsOf: Install.deploy.appendingPathComponent("README.md"), encoding: .utf8)
        let marker = try #require(readme.range(of: "<!-- break-glass -->\n```sh\n"))
        let end = try #require(readme.range(of: "\n```", range: marker.upperBound..<readme.endIndex))
        let command = String(readme[marker.upperBound..<end.lowerBound])
        let prefix = "kubectl patch validatingwebhookconfiguration nonroot-admission --type=json -p='"
        #expect(command.hasPrefix(prefix) && command.hasSuffix("'") && !command.contains("\n"), "\(command)")
        let patch = String(command.dropFirst(prefix.count).dropLast())

        let rendered = try await RenderedOverlay.render(overlay)
        let configuration = try rendered.webhookConfiguration
        #expect((try rendered.webhooks).map { $0["failurePolicy"] as? String } == ["Fail", "Ignore"])
        let scratch = try TemporaryDirectory()
        let file = try scratch.write("vwc.json", String(decoding: try JSONSerialization.data(withJSONObject: configuration), as: UTF8.self))
        let patched = try await Shell.check("kubectl", ["patch", "--local", "-f", file, "--type=json", "-p=\(patch)", "-o", "jsonpath={.webhooks[*].failurePolicy}"])
        #expect(patched == "Ignore Ignore", "\(patched)")
    }

    /// The ValidatingAdmissionPolicy that guards the opt-out labels: v1, in every enforce overlay, and
    /// the CEL that says "adding, changing or removing a nonroot-admission.io/* label needs a named group or user".
    @Test(arguments: Install.overlays)
    func theOptOutLabelsAreGuarded(_ overlay: String) async throws {
        let rendered = try await RenderedOverlay.render(overlay)
        let policies = rendered.objects(kind: "ValidatingAdmissionPolicy")
        guard Install.enforces(overlay) else {
            #expect(policies.isEmpty, "\(overlay)")
            return
        }
        let policy = try rendered.object(kind: "ValidatingAdmissionPolicy", name: "nonroot-admission-namespace-labels")
        #expect(policy["apiVersion"] as? String == "admissionregistration.k8s.io/v1")
        #expect(policy[path: "spec.failurePolicy"] as? String == "Fail")
        let rules = policy[path: "spec.matchConstraints.resourceRules"] as? [[String: Any]] ?? []
        #expect(Self.same(rules, [["apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["namespaces"]]]), "\(rules)")
        let variables = (policy[path: "spec.variables"] as? [[String: Any]] ?? []).map { "\($0["name"] ?? "?"): \($0["expression"] ?? "?")" }
        #expect(variables == [
            "allowedGroups: ['system:masters']",
            "allowedUsers: []",
            "newKeys: has(object.metadata.labels) ? object.metadata.labels.filter(k, k.startsWith('nonroot-admission.io/')) : []",
            "oldKeys: request.operation == 'UPDATE' && has(oldObject.metadata.labels) ? oldObject.metadata.labels.filter(k, k.startsWith('nonroot-admission.io/')) : []",
            "touched: variables.newKeys.exists(k, !(k in variables.oldKeys) || oldObject.metadata.labels[k] != object.metadata.labels[k]) || variables.oldKeys.exists(k, !(k in variables.newKeys))",
            "allowed: request.userInfo.username in variables.allowedUsers || request.userInfo.groups.exists(g, g in variables.allowedGroups)",
        ], "\(variables)")
        let validations = policy[path: "spec.validations"] as? [[String: Any]] ?? []
        #expect(Self.same(validations, [[
            "expression": "!variables.touched || variables.allowed",
            "reason": "Forbidden",
            "message": "only the groups and users named in the ValidatingAdmissionPolicy nonroot-admission-namespace-labels may add, change or remove nonroot-admission.io/* namespace labels",
        ]]), "\(validations)")
        let binding = try rendered.object(kind: "ValidatingAdmissionPolicyBinding", name: "nonroot-admission-namespace-labels")
        #expect(binding["apiVersion"] as? String == "admissionregistration.k8s.io/v1")
        #expect(binding[path: "spec.policyName"] as? String == "nonroot-admission-namespace-labels")
        #expect(binding[path: "spec.validationActions"] as? [String] == ["Deny"])
        #expect(binding[path: "spec.matchResources"] == nil, "the binding narrows nothing")
        // The webhook's own namespace carries a guarded label: the installer must be an allowed identity.
        let namespace = try rendered.object(kind: "Namespace", name: Install.namespace)
        #expect((namespace[path: "metadata.labels"] as? [String: String])?["nonroot-admission.io/ignore"] == "true")
    }

    /// The apiserver side of client authentication: the AdmissionConfiguration names the kubeconfig,
    /// whose user is the Service's DNS name and whose certificate is the one the server allows.
    @Test func theApiserverPresentsTheAllowedCertificate() async throws {
        let apiserver = Install.deploy.appendingPathComponent("apiserver")
        let admission = try #require(try YAML.documents(apiserver.appendingPathComponent("admission-configuration.yaml").path).first)
        #expect(admission["apiVersion"] as? String == "apiserver.config.k8s.io/v1")
        #expect(admission["kind"] as? String == "AdmissionConfiguration")
        let plugins = admission["plugins"] as? [[String: Any]] ?? []
        #expect(plugins.map { $0["name"] as? String } == ["ValidatingAdmissionWebhook"])
        #expect(plugins.first?[path: "configuration.kind"] as? String == "WebhookAdmissionConfiguration")
        #expect(plugins.first?[path: "configuration.kubeConfigFile"] as? String == "/etc/kubernetes/nonroot-admission/kubeconfig.yaml")
        let kubeconfig = try #require(try YAML.documents(apiserver.appendingPathComponent("kubeconfig.yaml").path).first)
        let users = kubeconfig["users"] as? [[String: Any]] ?? []
        #expect(users.map { $0["name"] as? String } == [Install.host])
        let certificate = try #require(users.first?[path: "user.client-certificate"] as? String)
        let key = try #require(users.first?[path: "user.client-key"] as? String)
        #expect(certificate == "/etc/kubernetes/nonroot-admission/apiserver-client.crt")
        #expect(key == "/etc/kubernetes/nonroot-admission/apiserver-client.key")

        // The overlay's server accepts the certificate certs/apiserver-client.sh makes, and refuses one
        // from the same CA with another name.
        let rendered = try await RenderedOverlay.render("enforce-client-auth")
        let environment = try rendered.environment
        let allowed = try #require(environment["NONROOT_ADMISSION_CLIENT_ALLOWED_NAMES"])
        #expect(allowed == "kube-apiserver-admission-client")
        #expect(environment["NONROOT_ADMISSION_CLIENT_CA_FILE"] == "/etc/nonroot-admission/client-ca/ca.crt")
        let volumes = try rendered.deployment[path: "spec.template.spec.volumes"] as? [[String: Any]] ?? []
        #expect(volumes.contains { $0[path: "configMap.name"] as? String == "nonroot-admission-client-ca" })

        let scratch = try TemporaryDirectory()
        let script = Install.root.appendingPathComponent("certs/apiserver-client.sh").path
        let output = try await Shell.check("bash", [script, scratch.file("client")])
        #expect(output.contains("CN=kube-apiserver-admission-client"), "\(output)")
        let other = try await Shell.check("bash", [script, scratch.file("client")], environment: ["NONROOT_CLIENT_NAME": "someone-else"])
        #expect(other.contains("client CA reused"), "\(other)")
        let purpose = try await Shell.run("openssl", ["verify", "-CAfile", scratch.file("client/client-ca.crt"), "-purpose", "sslclient", scratch.file("client/apiserver-client.crt")])
        #expect(purpose.succeeded, "\(purpose)")
        try FileManager.default.moveItem(atPath: scratch.file("client/apiserver-client.crt"), toPath: scratch.file("client/other.crt"))
        try FileManager.default.moveItem(atPath: scratch.file("client/apiserver-client.key"), toPath: scratch.file("client/other.key"))
        _ = try await Shell.check("bash", [script, scratch.file("client")])

        try await Install.generateCertificates(into: scratch.file("out"))
        try await ServeProcess.with(["--tls-cert-file", scratch.file("out/tls.crt"), "--tls-key-file", scratch.file("out/tls.key"),
                                     "--images", "Examples/images.yaml", "--client-ca-file", scratch.file("client/client-ca.crt"),
                                     "--client-allowed-names", allowed]) { server in
            let review = Install.root.appendingPathComponent("Examples/reviews/01-allowed-numeric-user.json").path
            for (name, expected) in [("apiserver-client", "200"), ("other", nil)] {
                let result = try await Shell.run("curl", [
                    "-sS", "--http1.1", "--resolve", "\(Install.host):\(server.port):127.0.0.1", "--cacert", scratch.file("out/ca.crt"),
                    "--cert", scratch.file("client/\(name).crt"), "--key", scratch.file("client/\(name).key"),
                    "-H", "content-type: application/json", "--data-binary", "@\(review)", "-o", "/dev/null", "-w", "%{http_code}",
                    "https://\(Install.host):\(server.port)/validate",
                ])
                if let expected {
                    #expect(result.succeeded && result.stdout == expected, "\(name): \(result)")
                } else {
                    #expect(!result.succeeded && result.stdout == "000", "\(name): \(result)")
                }
            }
            #expect(server.log.contains("client certificate refused"), "\(server.log)")
        }
    }
}
