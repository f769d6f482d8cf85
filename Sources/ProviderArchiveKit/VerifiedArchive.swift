/// What verifying an archive found: its signed claims and the size and hash of every entry,
/// all checked against the claims. Holds no binary content.
public struct VerifiedArchive: Sendable {
    /// The size and SHA-256 of one entry.
    public struct EntryInfo: Equatable, Sendable {
        /// The entry's size in bytes.
        public let size: UInt64
        /// The SHA-256 of the entry's content; equal to its claim.
        public let hash: SHA256Hash
    }

    /// The verified claims token.
    public let token: ClaimsToken
    /// Every target binary in the archive.
    public let targets: [Target: EntryInfo]
    /// `world.wasm`, when the archive has one.
    public let world: EntryInfo?
    /// Whether the archive is gzip-compressed.
    public let isCompressed: Bool

    /// The verified claims.
    public var claims: ProviderClaims { token.claims }

    init(_ result: ArchiveScanner.Result) {
        token = result.token
        targets = result.binaries.mapValues { EntryInfo(size: $0.size, hash: $0.hash) }
        world = result.world.map { EntryInfo(size: $0.size, hash: $0.hash) }
        isCompressed = result.isCompressed
    }
}

/// Which target binaries a load keeps in memory.
public enum TargetSelection: Hashable, Sendable {
    /// Every target; every target named in the claims must be present.
    case all
    /// One target, which must be present; the others are hashed and checked, not kept.
    case only(Target)
}

/// How an archive is compressed when written.
public enum ArchiveCompression: Equatable, Sendable {
    /// A plain tar stream (`.par`).
    case none
    /// gzip at a level (`.par.gz`).
    case gzip(GzipWriter.Level)

    /// gzip at zlib's default level.
    public static let gzip = ArchiveCompression.gzip(.default)
}
