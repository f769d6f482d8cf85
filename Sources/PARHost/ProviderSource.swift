import PARRegistry

/// Where a provider comes from: an archive file, or an archive in an OCI registry.
public enum ProviderSource: Sendable, Equatable, CustomStringConvertible {
    /// An archive file, plain or gzip.
    case file(String)
    /// A registry reference, by tag or by digest.
    case reference(ImageReference)

    public var description: String {
        switch self {
        case .file(let path): path
        case .reference(let reference): reference.description
        }
    }
}
