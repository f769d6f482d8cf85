import PARClaims

/// What writing an archive produced: the signed token and the size and hash of every entry
/// written, each hashed from the very bytes that went into the archive.
public struct WrittenArchive: Sendable {
    /// Where the archive was written, when it went to a file (with `.gz` added for gzip when
    /// the name lacked it); `nil` for a caller's stream.
    public let path: String?
    /// The signed claims token written as claims.jwt.
    public let token: ClaimsToken
    /// Every target binary written.
    public let targets: [Target: ArchiveEntryInfo]
    /// `world.wasm`, when written.
    public let world: ArchiveEntryInfo?
    /// How the archive was compressed.
    public let compression: ArchiveCompression

    /// The signed claims.
    public var claims: ProviderClaims { token.claims }
}
