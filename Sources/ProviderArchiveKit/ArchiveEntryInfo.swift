import PARBytes

/// The size and SHA-256 of one entry of an archive, as it was read or written.
public struct ArchiveEntryInfo: Equatable, Sendable {
    /// The entry's size in bytes.
    public let size: UInt64
    /// The SHA-256 of the entry's content.
    public let hash: SHA256Hash

    /// Creates the facts of one entry.
    ///
    /// - Parameters:
    ///   - size: The size in bytes.
    ///   - hash: The SHA-256 of the content.
    public init(size: UInt64, hash: SHA256Hash) {
        self.size = size
        self.hash = hash
    }
}
