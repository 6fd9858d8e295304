/// Bodies as kube-apiserver sends them (`kubectl get --raw`), metadata trimmed to the usual fields.
enum APIObjects {
    static let dockerConfigJSON = #"{"auths":{"registry.example.com":{"username":"puller","password":"s3cr3t","auth":"cHVsbGVyOnMzY3IzdA=="}}}"#
    static let dockercfg = #"{"legacy.example.com:5000":{"auth":"b2xkOnBhc3M=","email":"ops@example.com"}}"#

    static func metadata(_ name: String, _ namespace: String = "team-a") -> String {
        #""metadata":{"name":"\#(name)","namespace":"\#(namespace)","uid":"5b7c3a2e-8f0d-4a8e-9c61-0f1e2d3c4b5a","resourceVersion":"48213","creationTimestamp":"2025-01-14T09:12:44Z"}"#
    }

    static let regcred = #"{"kind":"Secret","apiVersion":"v1",\#(metadata("regcred")),"data":{".dockerconfigjson":"eyJhdXRocyI6eyJyZWdpc3RyeS5leGFtcGxlLmNvbSI6eyJ1c2VybmFtZSI6InB1bGxlciIsInBhc3N3b3JkIjoiczNjcjN0IiwiYXV0aCI6ImNIVnNiR1Z5T25NelkzSXpkQT09In19fQ=="},"type":"kubernetes.io/dockerconfigjson"}"#
    static let legacy = #"{"kind":"Secret","apiVersion":"v1",\#(metadata("legacy")),"data":{".dockercfg":"eyJsZWdhY3kuZXhhbXBsZS5jb206NTAwMCI6eyJhdXRoIjoiYjJ4a09uQmhjM009IiwiZW1haWwiOiJvcHNAZXhhbXBsZS5jb20ifX0="},"type":"kubernetes.io/dockercfg"}"#
    /// An Opaque Secret holding a docker config under the right key: the kubelet ignores it.
    static let opaque = #"{"kind":"Secret","apiVersion":"v1",\#(metadata("opaque")),"data":{".dockerconfigjson":"eyJhdXRocyI6eyJyZWdpc3RyeS5leGFtcGxlLmNvbSI6eyJ1c2VybmFtZSI6InB1bGxlciIsInBhc3N3b3JkIjoiczNjcjN0IiwiYXV0aCI6ImNIVnNiR1Z5T25NelkzSXpkQT09In19fQ==","tls.key":"LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0t"},"type":"Opaque"}"#
    /// The dockerconfigjson type with the other format's key: ignored.
    static let mismatched = #"{"kind":"Secret","apiVersion":"v1",\#(metadata("mismatched")),"data":{".dockercfg":"eyJsZWdhY3kuZXhhbXBsZS5jb206NTAwMCI6eyJhdXRoIjoiYjJ4a09uQmhjM009IiwiZW1haWwiOiJvcHNAZXhhbXBsZS5jb20ifX0="},"type":"kubernetes.io/dockerconfigjson"}"#
    /// The right type, an empty value: ignored.
    static let empty = #"{"kind":"Secret","apiVersion":"v1",\#(metadata("empty")),"data":{".dockerconfigjson":""},"type":"kubernetes.io/dockerconfigjson"}"#

    static let builder = #"{"kind":"ServiceAccount","apiVersion":"v1",\#(metadata("builder")),"imagePullSecrets":[{"name":"regcred"},{"name":"missing"},{"name":"locked"},{"name":"opaque"},{"name":"legacy"}]}"#
    static let defaultAccount = #"{"kind":"ServiceAccount","apiVersion":"v1",\#(metadata("default")),"imagePullSecrets":[{"name":"legacy"}]}"#

    static let lockedMessage = #"secrets "locked" is forbidden: User "system:serviceaccount:nonroot-admission:nonroot-admission" cannot get resource "secrets" in API group "" in the namespace "team-a""#
    static let forbidden = #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"secrets \"locked\" is forbidden: User \"system:serviceaccount:nonroot-admission:nonroot-admission\" cannot get resource \"secrets\" in API group \"\" in the namespace \"team-a\"","reason":"Forbidden","details":{"name":"locked","kind":"secrets"},"code":403}"#
    static let unauthorized = #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}"#

    static func secretPath(_ name: String, _ namespace: String = "team-a") -> String { "/api/v1/namespaces/\(namespace)/secrets/\(name)" }
    static func serviceAccountPath(_ name: String, _ namespace: String = "team-a") -> String { "/api/v1/namespaces/\(namespace)/serviceaccounts/\(name)" }

    /// The namespace team-a as tests see it: no route for `missing` (the server's own 404), 403 for `locked`.
    static var routes: [String: FakeAPIServer.Route] {
        [
            secretPath("regcred"): .init(body: regcred),
            secretPath("legacy"): .init(body: legacy),
            secretPath("opaque"): .init(body: opaque),
            secretPath("mismatched"): .init(body: mismatched),
            secretPath("empty"): .init(body: empty),
            secretPath("locked"): .init(status: 403, body: forbidden),
            serviceAccountPath("builder"): .init(body: builder),
            serviceAccountPath("default"): .init(body: defaultAccount),
        ]
    }
}
