import PARRegistry

/// Where a provider comes from: an archive file, an archive in an OCI registry, or one in
/// an OCI image layout.
public enum ProviderSource: Sendable, Equatable, CustomStringConvertible {
    /// An archive file, plain or gzip.
    case file(String)
    /// A registry reference, by tag or by digest.
    case reference(ImageReference)
    /// An entry of an image layout (`oci:`, `oci-archive:`): cached by its manifest's
    /// digest, as a reference is, so a start pinned by that digest needs no layout at all.
    case layout(OCILayoutReference)

    public var description: String {
        switch self {
        case .file(let path): path
        case .reference(let reference): reference.description
        case .layout(let layout): layout.description
        }
    }
}
