import ImageRegistry
import JSON

/// Writes registry answers as an image catalog: keys pinned by digest (and keeping the tag, so
/// tagged pod images match), one USER or one USER per platform of an index.
enum CatalogWriter {
    static func render(_ images: [ResolvedImage]) -> String {
        var out = "# Written by nonroot-admission replay --write-images: each image's config USER as its registry\n"
        out += "# served it, pinned by digest. Use it with --images for offline replays.\n"
        out += images.isEmpty ? "images: {}\n" : "images:\n"
        for image in images {
            var key = image.reference.name
            if let tag = image.reference.tag { key += ":" + tag }
            key += "@" + image.digest
            if image.isIndex {
                out += "  \(quoted(key)):\n"
                for variant in image.variants {
                    out += "    \(quoted(variant.platform?.description ?? "unknown")): \(quoted(variant.user ?? ""))\n"
                }
            } else {
                out += "  \(quoted(key)): \(quoted(image.variants.first?.user ?? ""))\n"
            }
        }
        return out
    }

    /// A YAML double-quoted scalar; JSON string syntax is a subset of it.
    static func quoted(_ text: String) -> String {
        var writer = JSONWriter(capacity: text.utf8.count + 2)
        writer.string(text)
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}
