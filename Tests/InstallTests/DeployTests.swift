import Foundation
import Testing
import TestSupport

/// deploy/: every overlay renders, validates against real Kubernetes schemas, passes the webhook's own
/// restricted policy, and points the apiserver at paths the server serves.
@Suite("deploy overlays")
struct DeployTests {
    /// Kubernetes versions to validate against: the oldest the manifests support (the preStop `sleep`
    /// action is on by default from 1.30) and kubernetes-validate's newest.
    static let kubernetesVersions = ["1.30.0", "latest"]

    @Test func theDocumentedOverlaysExist() {
        for overlay in Install.documentedOverlays {
            #expect(FileManager.default.fileExists(atPath: Install.deploy.appendingPathComponent("overlays/\(overlay)/kustomization.yaml").path), "\(overlay)")
        }
    }

    @Test(arguments: Install.overlays)
    func overlayRenders(_ overlay: String) async throws {
        let rendered = try await RenderedOverlay.render(overlay)
        var kinds = ["Namespace", "ServiceAccount", "ConfigMap", "Service", "Deployment", "PodDisruptionBudget", "NetworkPolicy", "ValidatingWebhookConfiguration"]
        kinds += Install.usesCertManager(overlay) ? ["Issuer", "Certificate"] : ["Secret"]
        for kind in kinds {
            #expect(!rendered.objects(kind: kind).isEmpty, "\(overlay) renders no \(kind)")
        }
        // Every namespaced object lands in the webhook's namespace.
        for object in rendered.documents where !Install.clusterScopedKinds.contains(object["kind"] as? String ?? "") {
            #expect(object[path: "metadata.namespace"] as? String == Install.namespace, "\(object["kind"] ?? "?") \(object[path: "metadata.name"] ?? "?")")
        }
    }

    @Test(arguments: Install.overlays, kubernetesVersions)
    func overlayValidatesAgainstKubernetesSchemas(_ overlay: String, _ version: String) async throws {
        let rendered = try await RenderedOverlay.render(overlay)
        var arguments = ["--strict", rendered.file]
        if version != "latest" { arguments = ["-k", version] + arguments }
        let result = try await Shell.run("python3", ["-m", "kubernetes_validate"] + arguments, timeout: .seconds(120))
        #expect(result.succeeded, "\(result)")
        let lines = (result.stdout + result.stderr).split(separator: "\n").map(String.init)
        #expect(!lines.contains { $0.hasPrefix("ERROR") }, "\(result)")
        // Only cert-manager's custom resources have no schema in kubernetes-validate; everything
        // else must have been validated.
        let unvalidated = lines.filter { $0.hasPrefix("WARN") }
        for line in unvalidated {
            #expect(line.contains("Couldn't find schema for kind") && line.contains("cert-manager.io/v1"), "\(line)")
        }
        let builtIn = rendered.documents.filter { !(($0["apiVersion"] as? String ?? "").contains("cert-manager.io")) }
        let passed = lines.filter { $0.hasPrefix("INFO") && $0.contains(" passed for resource ") }
        #expect(passed.count == builtIn.count, "\(passed.count) of \(builtIn.count) built-in objects validated:\n\(result)")
    }

    @Test func schemaValidationCatchesMistakes() async throws {
        // The validator is strict: an unknown field in the Deployment fails.
        let rendered = try await RenderedOverlay.render("dry-run")
        let broken = rendered.yaml.replacingOccurrences(of: "terminationGracePeriodSeconds: 30", with: "terminationGracePeriodSeconds: 30\n      terminationGraceSeconds: 30")
        #expect(broken != rendered.yaml)
        let scratch = try TemporaryDirectory()
        let file = try scratch.write("broken.yaml", broken)
        let result = try await Shell.run("python3", ["-m", "kubernetes_validate", "-k", "1.30.0", "--strict", file])
        #expect(result.status != 0, "\(result)")
        #expect(result.stdout.contains("terminationGraceSeconds"), "\(result)")
    }

    /// `check --policy restricted` on the rendered overlay, with a catalog that gives the webhook's image
    /// the Dockerfile's numeric USER: everything is allowed, the Deployment evaluated without a warning.
    @Test(arguments: Install.overlays)
    func ownDeploymentPassesItsOwnRestrictedPolicy(_ overlay: String) async throws {
        let rendered = try await RenderedOverlay.render(overlay)
        let image = try #require(try rendered.container["image"] as? String)
        let user = try #require(try DockerfileTests.load().finalUser?.resolved)
        let scratch = try TemporaryDirectory()
        let catalog = try scratch.write("catalog.yaml", "images:\n  \"\(image)\": \"\(user)\"\n")
        let executable = try Install.requireExecutable()
        let json = try await Shell.run(executable, ["check", "--policy", "restricted", "--images", catalog, "--format", "json", rendered.file])
        #expect(json.status == 0, "\(json)")
        let lines = json.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == rendered.documents.count, "\(json)")
        for line in lines {
            // Allowed cleanly: evaluated with no warning, or a kind without a pod spec, said to be not evaluated.
            let clean = line.hasSuffix(#","response":{"uid":"","allowed":true}}"#)
                || (line.contains(#","response":{"uid":"","allowed":true},"notEvaluated":"kind "#) && line.hasSuffix(#" carries no pod spec"}"#))
            #expect(clean, "not allowed cleanly (a warning or denial): \(line)")
        }
        // The Deployment really was evaluated (not skipped as a kind without a pod spec).
        let text = try await Shell.run(executable, ["check", "--policy", "restricted", "--images", catalog, rendered.file])
        #expect(text.status == 0, "\(text)")
        let deploymentRow = try #require(text.stdout.split(separator: "\n").first { $0.contains("Deployment") && $0.contains("nonroot-admission/nonroot-admission") })
        #expect(deploymentRow.hasPrefix("allowed"), "\(text)")
        let index = try #require(text.stdout.range(of: String(deploymentRow)))
        let following = text.stdout[index.upperBound...].split(separator: "\n").first.map(String.init) ?? ""
        #expect(!following.hasPrefix("    "), "the Deployment has a note or warning: \(following)")
        #expect(text.stdout.contains(" 0 denied, 0 would deny"), "\(text)")
    }

    /// Without runAsUser in the manifest, the image's own numeric USER carries the kubelet's check:
    /// allowed with the Dockerfile's USER, denied with no USER, so the check above is not vacuous.
    @Test func theImageUserAloneSatisfiesTheKubelet() async throws {
        let rendered = try await RenderedOverlay.render("enforce")
        let image = try #require(try rendered.container["image"] as? String)
        let user = try #require(try DockerfileTests.load().finalUser?.resolved)
        let withoutRunAsUser = rendered.yaml.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("runAsUser:") }.joined(separator: "\n")
        #expect(withoutRunAsUser != rendered.yaml)
        let scratch = try TemporaryDirectory()
        let manifest = try scratch.write("no-run-as-user.yaml", withoutRunAsUser)
        let executable = try Install.requireExecutable()
        for (value, expected) in [(user, Int32(0)), ("", 1), ("nonroot", 1)] {
            let catalog = try scratch.write("catalog-\(value).yaml", "images:\n  \"\(image)\": \"\(value)\"\n")
            let result = try await Shell.run(executable, ["check", "--policy", "restricted", "--images", catalog, manifest])
            #expect(result.status == expected, "USER \"\(value)\": \(result)")
        }
    }

    @Test(arguments: Install.overlays)
    func webhooksPointAtServedPathsOnTheService(_ overlay: String) async throws {
        let rendered = try await RenderedOverlay.render(overlay)
        let webhooks = try rendered.webhooks
        #expect(webhooks.count == (Install.enforces(overlay) ? 2 : 1), "\(webhooks.count)")
        let service = try rendered.object(kind: "Service", name: Install.service)
        let ports = service[path: "spec.ports"] as? [[String: Any]] ?? []
        let listen = try #require(try rendered.environment["NONROOT_ADMISSION_LISTEN"])
        let containerPorts = try rendered.container["ports"] as? [[String: Any]] ?? []
        for webhook in webhooks {
            let name = webhook["name"] as? String ?? "?"
            let path = try #require(webhook[path: "clientConfig.service.path"] as? String, "\(name) has no path")
            #expect(Install.servedPaths.contains(path), "\(name): \(path) is not served")
            #expect(webhook[path: "clientConfig.service.name"] as? String == Install.service)
            #expect(webhook[path: "clientConfig.service.namespace"] as? String == Install.namespace)
            // The Service port the webhook calls leads to the container port the server listens on.
            let port = webhook[path: "clientConfig.service.port"] as? Int ?? 443
            let servicePort = try #require(ports.first { $0["port"] as? Int == port }, "\(name): no Service port \(port)")
            let target = servicePort["targetPort"]
            let containerPort = containerPorts.first { ($0["name"] as? String) == (target as? String) || ($0["containerPort"] as? Int) == (target as? Int) }
            let number = try #require(containerPort?["containerPort"] as? Int, "\(name): targetPort \(target ?? "?") matches no container port")
            #expect(listen.hasSuffix(":\(number)"), "the server listens on \(listen), the Service sends to \(number)")
            #expect(port == 443)
            // The fixed fields of the issue.
            #expect(webhook["admissionReviewVersions"] as? [String] == ["v1"])
            #expect(webhook["sideEffects"] as? String == "None")
            #expect(webhook["timeoutSeconds"] as? Int == 5)
            #expect(webhook["matchPolicy"] as? String == "Equivalent")
        }
    }

    /// The paths the overlays use answer a real AdmissionReview, over TLS with the generated CA, for the
    /// Service's DNS name: what the apiserver does.
    @Test func theServerAnswersEveryConfiguredPath() async throws {
        var paths: Set<String> = []
        for overlay in Install.overlays {
            for webhook in try await RenderedOverlay.render(overlay).webhooks {
                if let path = webhook[path: "clientConfig.service.path"] as? String { paths.insert(path) }
            }
        }
        #expect(paths == ["/validate", "/validate/enforce", "/validate/dry-run"], "\(paths)")
        let scratch = try TemporaryDirectory()
        try await Install.generateCertificates(into: scratch.file("out"))
        let review = Install.root.appendingPathComponent("Examples/reviews/02-denied-image-runs-as-root.json").path
        try await ServeProcess.with(["--tls-cert-file", scratch.file("out/tls.crt"), "--tls-key-file", scratch.file("out/tls.key"),
                                     "--images", "Examples/images.yaml", "--mode", "dry-run"]) { server in
            for path in paths.sorted() {
                let result = try await Shell.run("curl", [
                    "-sS", "--http1.1", "--resolve", "\(Install.host):\(server.port):127.0.0.1", "--cacert", scratch.file("out/ca.crt"),
                    "-H", "content-type: application/json", "--data-binary", "@\(review)", "-w", "\n%{http_code}",
                    "https://\(Install.host):\(server.port)\(path)",
                ])
                #expect(result.succeeded, "\(path): \(result)")
                let lines = result.stdout.split(separator: "\n")
                #expect(lines.last == "200", "\(path): \(result)")
                let body = lines.dropLast().joined(separator: "\n")
                #expect(body.contains(#""kind":"AdmissionReview""#), "\(path): \(body)")
                // /validate follows --mode (dry-run here); the others force theirs.
                let denies = path == "/validate/enforce"
                #expect(body.contains(#""allowed":false"#) == denies, "\(path): \(body)")
                #expect(body.contains("would deny (dry-run)") == !denies, "\(path): \(body)")
            }
        }
    }

    @Test(arguments: Install.overlays)
    func namespaceSelectorsExemptTheWebhookAndOptOuts(_ overlay: String) async throws {
        let rendered = try await RenderedOverlay.render(overlay)
        let namespace = try rendered.object(kind: "Namespace", name: Install.namespace)
        let labels = namespace[path: "metadata.labels"] as? [String: String] ?? [:]
        #expect(labels["nonroot-admission.io/ignore"] == "true")
        #expect(labels["pod-security.kubernetes.io/enforce"] == "restricted")
        for webhook in try rendered.webhooks {
            let name = webhook["name"] as? String ?? "?"
            let expressions = webhook[path: "namespaceSelector.matchExpressions"] as? [[String: Any]] ?? []
            func expression(_ key: String) -> (op: String, values: [String])? {
                expressions.first { $0["key"] as? String == key }.map { ($0["operator"] as? String ?? "", $0["values"] as? [String] ?? []) }
            }
            let names = try #require(expression("kubernetes.io/metadata.name"), "\(name)")
            #expect(names.op == "NotIn" && Set(names.values).isSuperset(of: ["kube-system", Install.namespace]), "\(name): \(names)")
            let optOut = try #require(expression("nonroot-admission.io/ignore"), "\(name)")
            #expect(optOut.op == "NotIn" && optOut.values == ["true"], "\(name): \(optOut)")
            #expect(webhook["objectSelector"] == nil)
            let rules = webhook["rules"] as? [[String: Any]] ?? []
            let covered = Set(rules.flatMap { rule in
                (rule["resources"] as? [String] ?? []).flatMap { resource in
                    (rule["operations"] as? [String] ?? []).flatMap { operation in
                        (rule["apiGroups"] as? [String] ?? []).map { "\($0)/\(resource) \(operation)" }
                    }
                }
            })
            var wanted: Set<String> = ["/pods/ephemeralcontainers UPDATE"]
            for resource in ["/pods", "/replicationcontrollers", "/podtemplates", "apps/deployments", "apps/replicasets",
                             "apps/statefulsets", "apps/daemonsets", "batch/jobs", "batch/cronjobs"] {
                wanted.insert("\(resource) CREATE")
                wanted.insert("\(resource) UPDATE")
            }
            #expect(covered == wanted, "\(name): missing \(wanted.subtracting(covered)), extra \(covered.subtracting(wanted))")
        }
    }

    @Test(arguments: Install.overlays)
    func modesAndFailurePolicies(_ overlay: String) async throws {
        let rendered = try await RenderedOverlay.render(overlay)
        let webhooks = try rendered.webhooks
        let environment = try rendered.environment
        let first = try #require(webhooks.first)
        #expect(first["name"] as? String == "nonroot.admission.io")
        if Install.enforces(overlay) {
            #expect(environment["NONROOT_ADMISSION_MODE"] == "enforce")
            #expect(first["failurePolicy"] as? String == "Fail")
            let second = try #require(webhooks.dropFirst().first)
            #expect(second["name"] as? String == "nonroot-dryrun.admission.io")
            #expect(second[path: "clientConfig.service.path"] as? String == "/validate/dry-run")
            #expect(second["failurePolicy"] as? String == "Ignore")
            // The two selectors split the namespaces on the mode label: each namespace meets exactly one.
            func modeExpression(_ webhook: [String: Any]) -> [String: Any]? {
                (webhook[path: "namespaceSelector.matchExpressions"] as? [[String: Any]])?.first { $0["key"] as? String == "nonroot-admission.io/mode" }
            }
            #expect(modeExpression(first)?["operator"] as? String == "NotIn")
            #expect(modeExpression(first)?["values"] as? [String] == ["dry-run"])
            #expect(modeExpression(second)?["operator"] as? String == "In")
            #expect(modeExpression(second)?["values"] as? [String] == ["dry-run"])
            #expect(first[path: "clientConfig.service.path"] as? String == "/validate/enforce")
        } else {
            #expect(environment["NONROOT_ADMISSION_MODE"] == "dry-run")
            #expect(first["failurePolicy"] as? String == "Ignore")
        }
        // Records go to the emptyDir.
        let recordDir = try #require(environment["NONROOT_ADMISSION_RECORD_DIR"])
        let mounts = try rendered.container["volumeMounts"] as? [[String: Any]] ?? []
        let volumes = try rendered.deployment[path: "spec.template.spec.volumes"] as? [[String: Any]] ?? []
        let mount = try #require(mounts.first { $0["mountPath"] as? String == recordDir })
        let volume = try #require(volumes.first { $0["name"] as? String == mount["name"] as? String })
        #expect(volume["emptyDir"] != nil)
    }

    @Test(arguments: Install.overlays)
    func caBundleComesFromTheGeneratedCAOrCertManager(_ overlay: String) async throws {
        let rendered = try await RenderedOverlay.render(overlay)
        let configuration = try rendered.webhookConfiguration
        let annotation = configuration[path: "metadata.annotations"] as? [String: String] ?? [:]
        if Install.usesCertManager(overlay) {
            #expect(annotation["cert-manager.io/inject-ca-from"] == "\(Install.namespace)/nonroot-admission-serving")
            for webhook in try rendered.webhooks { #expect(webhook[path: "clientConfig.caBundle"] == nil) }
            // The serving Certificate writes the Secret the Deployment mounts, for the Service's names.
            let certificate = try rendered.object(kind: "Certificate", name: "nonroot-admission-serving")
            #expect(Set(certificate[path: "spec.dnsNames"] as? [String] ?? []) == [Install.host, "\(Install.host).cluster.local"])
            #expect(certificate[path: "spec.secretName"] as? String == "nonroot-admission-tls")
            #expect(Set(certificate[path: "spec.usages"] as? [String] ?? []).contains("server auth"))
            let issuer = try #require(certificate[path: "spec.issuerRef.name"] as? String)
            let caIssuer = try rendered.object(kind: "Issuer", name: issuer)
            let caSecret = try #require(caIssuer[path: "spec.ca.secretName"] as? String)
            let ca = try #require(rendered.objects(kind: "Certificate").first { $0[path: "spec.secretName"] as? String == caSecret })
            #expect(ca[path: "spec.isCA"] as? Bool == true)
            let selfSigned = try rendered.object(kind: "Issuer", name: try #require(ca[path: "spec.issuerRef.name"] as? String))
            #expect(selfSigned[path: "spec.selfSigned"] != nil)
            #expect(rendered.objects(kind: "Secret").isEmpty, "no static Secret with cert-manager")
        } else {
            #expect(annotation["cert-manager.io/inject-ca-from"] == nil)
            let bundle = try String(contentsOfFile: rendered.certificates + "/ca-bundle.txt", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            for webhook in try rendered.webhooks {
                #expect(webhook[path: "clientConfig.caBundle"] as? String == bundle, "\(webhook["name"] ?? "?")")
            }
            let secret = try rendered.object(kind: "Secret", name: "nonroot-admission-tls")
            #expect(secret["type"] as? String == "kubernetes.io/tls")
        }
        // The Deployment mounts that Secret.
        let volumes = try rendered.deployment[path: "spec.template.spec.volumes"] as? [[String: Any]] ?? []
        #expect(volumes.contains { $0[path: "secret.secretName"] as? String == "nonroot-admission-tls" })
    }

    @Test(arguments: Install.overlays)
    func deploymentIsRestrictedAvailableAndDrainsCleanly(_ overlay: String) async throws {
        let rendered = try await RenderedOverlay.render(overlay)
        let deployment = try rendered.deployment
        let pod = try #require(deployment[path: "spec.template.spec"] as? [String: Any])
        let container = try rendered.container
        let environment = try rendered.environment
        #expect(deployment[path: "spec.replicas"] as? Int == 2)
        #expect(pod[path: "affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution"] != nil)
        #expect((pod["topologySpreadConstraints"] as? [Any])?.isEmpty == false)
        #expect(pod["automountServiceAccountToken"] as? Bool == false)
        let serviceAccount = try rendered.object(kind: "ServiceAccount", name: "nonroot-admission")
        #expect(serviceAccount["automountServiceAccountToken"] as? Bool == false)
        #expect(pod["serviceAccountName"] as? String == "nonroot-admission")
        #expect(rendered.objects(kind: "Role").isEmpty && rendered.objects(kind: "ClusterRole").isEmpty, "no RBAC is needed")

        // Restricted, at the container level (which wins) and the pod's.
        let security = try #require(container["securityContext"] as? [String: Any])
        #expect(security["runAsNonRoot"] as? Bool == true)
        #expect(security["runAsUser"] as? Int == 65532)
        #expect(security["runAsGroup"] as? Int == 65532)
        #expect(security["allowPrivilegeEscalation"] as? Bool == false)
        #expect(security["readOnlyRootFilesystem"] as? Bool == true)
        #expect(security[path: "capabilities.drop"] as? [String] == ["ALL"])
        #expect(security[path: "seccompProfile.type"] as? String == "RuntimeDefault")
        #expect(pod[path: "securityContext.runAsNonRoot"] as? Bool == true)
        #expect(pod[path: "securityContext.seccompProfile.type"] as? String == "RuntimeDefault")

        #expect(container[path: "resources.requests.cpu"] as? String == "50m")
        #expect(container[path: "resources.requests.memory"] as? String == "64Mi")
        #expect(container[path: "resources.limits.memory"] as? String == "192Mi")
        // A flood of large bodies must fit: 40 MiB at rest, the body budget, and room to parse.
        let buffered = try #require(environment["NONROOT_ADMISSION_MAX_BUFFERED_BYTES"].flatMap(Int.init))
        #expect(40 << 20 + buffered + 64 << 20 <= 192 << 20, "max-buffered-bytes \(buffered) does not fit the 192Mi limit")

        // Probes on the operations port, which is where the server serves them.
        let metrics = try #require(environment["NONROOT_ADMISSION_METRICS_LISTEN"])
        let ports = container["ports"] as? [[String: Any]] ?? []
        let metricsPort = try #require(ports.first { $0["name"] as? String == "metrics" }?["containerPort"] as? Int)
        #expect(metrics.hasSuffix(":\(metricsPort)"))
        #expect(container[path: "readinessProbe.httpGet.path"] as? String == "/readyz")
        #expect(container[path: "livenessProbe.httpGet.path"] as? String == "/healthz")
        for probe in ["readinessProbe", "livenessProbe"] {
            let port = container[path: "\(probe).httpGet.port"]
            #expect(port as? String == "metrics" || port as? Int == metricsPort, "\(probe): \(port ?? "none")")
        }

        // Drain: preStop sleep (no shell in the image), then --shutdown-delay and the grace period, all
        // inside terminationGracePeriodSeconds.
        #expect(container[path: "lifecycle.preStop.exec"] == nil, "the image has no shell")
        let preStop = try #require(container[path: "lifecycle.preStop.sleep.seconds"] as? Int)
        let delay = try #require(environment["NONROOT_ADMISSION_SHUTDOWN_DELAY"].flatMap(Self.seconds))
        let grace = try #require(environment["NONROOT_ADMISSION_SHUTDOWN_GRACE_PERIOD"].flatMap(Self.seconds))
        let termination = try #require(pod["terminationGracePeriodSeconds"] as? Int)
        #expect(preStop >= 5, "endpoints need a few seconds to drop the pod")
        #expect(delay < grace)
        #expect(Double(termination) > Double(preStop) + grace, "terminationGracePeriodSeconds \(termination) <= preStop \(preStop) + grace \(grace)")

        // The TLS files come from the mounted Secret, never through subPath (which would not update).
        let mounts = container["volumeMounts"] as? [[String: Any]] ?? []
        #expect(!mounts.contains { $0["subPath"] != nil })
        let certificate = try #require(environment["NONROOT_ADMISSION_TLS_CERT_FILE"])
        let tlsMount = try #require(mounts.first { certificate.hasPrefix(($0["mountPath"] as? String ?? "?") + "/") })
        let volumes = pod["volumes"] as? [[String: Any]] ?? []
        #expect(volumes.first { $0["name"] as? String == tlsMount["name"] as? String }?[path: "secret.secretName"] as? String == "nonroot-admission-tls")
        // The catalog comes from the generated ConfigMap.
        let images = try #require(environment["NONROOT_ADMISSION_IMAGES"])
        let catalogMount = try #require(mounts.first { images.hasPrefix(($0["mountPath"] as? String ?? "?") + "/") })
        let catalogVolume = try #require(volumes.first { $0["name"] as? String == catalogMount["name"] as? String })
        let configMapName = try #require(catalogVolume[path: "configMap.name"] as? String)
        let configMap = try rendered.object(kind: "ConfigMap", name: configMapName)
        #expect((configMap["data"] as? [String: String])?[URL(fileURLWithPath: images).lastPathComponent] != nil)

        // Every variable is an option serve knows.
        let help = try await Shell.check(try Install.requireExecutable(), ["serve", "--help"])
        for name in environment.keys where name.hasPrefix("NONROOT_ADMISSION_") {
            let option = "--" + name.dropFirst("NONROOT_ADMISSION_".count).lowercased().replacingOccurrences(of: "_", with: "-")
            #expect(help.contains(option), "\(name): serve has no \(option)")
        }

        let budget = try rendered.object(kind: "PodDisruptionBudget", name: "nonroot-admission")
        #expect(budget[path: "spec.minAvailable"] as? Int == 1)
        let selector = deployment[path: "spec.selector.matchLabels"] as? [String: String]
        #expect(budget[path: "spec.selector.matchLabels"] as? [String: String] == selector)
        let service = try rendered.object(kind: "Service", name: "nonroot-admission")
        #expect(service[path: "spec.selector"] as? [String: String] == selector)
        let labels = deployment[path: "spec.template.metadata.labels"] as? [String: String] ?? [:]
        #expect(selector?.allSatisfy { labels[$0.key] == $0.value } == true)
    }

    /// Registry lookups are on everywhere; the credentials overlay mounts a dockerconfigjson Secret as
    /// --registry-auth-file, and the NetworkPolicy lets DNS and HTTPS out.
    @Test func registryLookupsAndCredentials() async throws {
        for overlay in Install.overlays {
            let rendered = try await RenderedOverlay.render(overlay)
            let environment = try rendered.environment
            #expect(environment["NONROOT_ADMISSION_REGISTRY"] == "true", "\(overlay)")
            #expect(environment["NONROOT_ADMISSION_REGISTRY_TIMEOUT"] == "3s", "\(overlay)")
            let policy = try rendered.object(kind: "NetworkPolicy", name: "nonroot-admission")
            let ports = (policy[path: "spec.egress"] as? [[String: Any]] ?? []).flatMap { $0["ports"] as? [[String: Any]] ?? [] }
            #expect(ports.map { "\($0["port"] ?? "")/\($0["protocol"] ?? "")" }.sorted() == ["443/TCP", "53/TCP", "53/UDP"], "\(overlay)")
        }
        let rendered = try await RenderedOverlay.render("registry-credentials")
        let environment = try rendered.environment
        #expect(environment["NONROOT_ADMISSION_MODE"] == "dry-run")
        let authFile = try #require(environment["NONROOT_ADMISSION_REGISTRY_AUTH_FILE"])
        let deployment = try rendered.deployment
        let pod = try #require(deployment[path: "spec.template.spec"] as? [String: Any])
        let container = try #require((pod["containers"] as? [[String: Any]])?.first)
        let mount = try #require((container["volumeMounts"] as? [[String: Any]])?.first { authFile.hasPrefix(($0["mountPath"] as? String ?? "?") + "/") })
        #expect(mount["readOnly"] as? Bool == true)
        let volume = try #require((pod["volumes"] as? [[String: Any]])?.first { $0["name"] as? String == mount["name"] as? String })
        let secretName = try #require(volume[path: "secret.secretName"] as? String)
        let secret = try rendered.object(kind: "Secret", name: secretName)
        #expect(secret["type"] as? String == "kubernetes.io/dockerconfigjson")
        #expect((secret["data"] as? [String: String])?[URL(fileURLWithPath: authFile).lastPathComponent] != nil)
    }

    /// `5s`, `1m30s`, `500ms` or a plain number, in seconds.
    static func seconds(_ text: String) -> Double? {
        if let plain = Double(text) { return plain }
        var total = 0.0
        var number = ""
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if character.isNumber || character == "." {
                number.append(character)
                index = text.index(after: index)
                continue
            }
            var unit = String(character)
            index = text.index(after: index)
            if index < text.endIndex, !text[index].isNumber, text[index] != "." { unit.append(text[index]); index = text.index(after: index) }
            guard let value = Double(number) else { return nil }
            switch unit {
            case "ms": total += value / 1000
            case "s": total += value
            case "m": total += value * 60
            case "h": total += value * 3600
            default: return nil
            }
            number = ""
        }
        return number.isEmpty ? total : nil
    }
}
