import PARBytes

/// What is wrong with an OCI image layout (see ``RegistryError/invalidLayout(path:problem:)``).
public enum OCILayoutProblem: Equatable, Sendable, CustomStringConvertible {
    /// No `oci-layout` file saying `imageLayoutVersion` 1.0.0.
    case notALayout
    /// `index.json` is larger than the most read.
    case indexTooLarge(limit: Int)
    /// `index.json` is not an image index.
    case malformedIndex(String)
    /// No entry has the name asked for.
    case nameNotFound(String, available: [String])
    /// Two entries have the name asked for.
    case ambiguousName(String)
    /// No name was given and the layout holds other than one entry.
    case nameNeeded(available: [String])
    /// A layout to write into was given no name, and the source has none to take.
    case destinationNameNeeded
    /// A blob the layout refers to is not in `blobs/sha256/`.
    case missingBlob(SHA256Hash)
    /// An entry that could land outside the layout, or is not a file or folder: in a tar of
    /// one, or a layout's `blobs/` that is a link.
    case unsafeEntry(String)
    /// A tar that cannot be read as a tar, or names an entry twice.
    case unreadableArchive(String)

    public var description: String {
        switch self {
        case .notALayout: "it is not an OCI image layout (no oci-layout file with imageLayoutVersion 1.0.0)"
        case .indexTooLarge(let limit): "its index.json is larger than \(limit >> 20) MiB"
        case .malformedIndex(let reason): "its index.json is not an image index (\(reason))"
        case .nameNotFound(let name, let available):
            "it has no entry named \(name); it has \(available.isEmpty ? "none" : available.joined(separator: ", "))"
        case .ambiguousName(let name): "two entries of its index.json are named \(name)"
        case .nameNeeded(let available):
            "it holds \(available.count) entries, so a name is needed; it has \(available.isEmpty ? "no named one" : available.joined(separator: ", "))"
        case .destinationNameNeeded: "no name to write under was given, and the source has none to take"
        case .missingBlob(let digest): "the blob \(digest.ociDigest) it refers to is missing"
        case .unsafeEntry(let name): "its entry \(name) could land outside the layout, or is not a file or folder"
        case .unreadableArchive(let reason): "it cannot be read as a tar of a layout (\(reason))"
        }
    }
}
