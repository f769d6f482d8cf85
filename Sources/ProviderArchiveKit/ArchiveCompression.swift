import PARContainer

/// How an archive is compressed when written.
public enum ArchiveCompression: Equatable, Sendable {
    /// A plain tar stream (`.par`).
    case none
    /// gzip at a level (`.par.gz`).
    case gzip(GzipWriter.Level)

    /// gzip at zlib's default level.
    public static let gzip = ArchiveCompression.gzip(.default)
}
