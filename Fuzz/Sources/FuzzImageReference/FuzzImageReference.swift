// ImageReference(parsing:) on arbitrary text (invalid UTF-8 arrives as U+FFFD): never a crash; a
// parsed reference is fully normalised, so its description parses back to the same value; and the
// image catalog finds an image by the text it was added under and by its normalised form.
import FuzzSupport
import ImageResolution
import NonRootPolicy

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: fuzzInput(data, size), as: UTF8.self)
    let reference: ImageReference
    do {
        reference = try ImageReference(parsing: text)
    } catch {
        require(error.reference == text, "the error names another reference")
        require(!error.reason.isEmpty, "an error without a reason")
        require(error.description.hasPrefix("invalid image reference "), "error description")
        return 0
    }
    let description = reference.description
    require(!reference.registry.isEmpty && !reference.repository.isEmpty, "empty registry or repository: \(description)")
    require(reference.tag != nil || reference.digest != nil, "neither tag nor digest: \(description)")
    require(description.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }, "normalised reference is not printable ASCII: \(description.debugDescription)")
    require(reference.name == reference.registry + "/" + reference.repository, "name")

    // Normalisation is idempotent.
    let again: ImageReference
    do {
        again = try ImageReference(parsing: description)
    } catch {
        fatalError("\(text.debugDescription) parses to \(description.debugDescription), which does not parse: \(error)")
    }
    require(again == reference, "\(text.debugDescription) → \(description.debugDescription) → \(again.description.debugDescription)")
    require(again.description == description, "description not stable")

    // The catalog finds it by its text and by its normalised form.
    var catalog = ImageCatalog()
    catalog.add(reference, text: text, user: .uid(1000))
    require(catalog.lookup(text) == .found(.uid(1000)), "catalog misses \(text.debugDescription)")
    require(catalog.lookup(description) == .found(.uid(1000)), "catalog misses \(description.debugDescription)")
    return 0
}
