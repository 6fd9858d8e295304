/// The manifest media types a registry may answer with, and the `Accept` header that asks for all of them.
public enum MediaType {
    public static let ociIndex = "application/vnd.oci.image.index.v1+json"
    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"

    /// Sent on every manifest GET and HEAD. With fewer types, registries answer 404 for OCI content,
    /// convert Docker images to schema 1, or pick a platform for the client.
    public static let manifestAccept = [ociIndex, dockerManifestList, ociManifest, dockerManifest].joined(separator: ", ")

    /// The media type of a `Content-Type` header: parameters dropped, whitespace trimmed, lowercased.
    public static func essence(of contentType: String) -> String {
        let type = contentType.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return type.trimmingASCIIWhitespace().lowercased()
    }
}

extension Substring {
    func trimmingASCIIWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        return String(self.drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}

extension String {
    func trimmingASCIIWhitespace() -> String { self[...].trimmingASCIIWhitespace() }
}
