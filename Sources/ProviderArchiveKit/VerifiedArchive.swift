import PARClaims

/// What verifying an archive found: its signed claims and the size and hash of every entry,
/// all checked against the claims. Holds no binary content.
public struct VerifiedArchive: Sendable {
    /// The verified claims token.
    public let token: ClaimsToken
    /// Every target binary in the archive, with the size and hash it was checked to have.
    public let targets: [Target: ArchiveEntryInfo]
    /// `world.wasm`, when the archive has one.
    public let world: ArchiveEntryInfo?
    /// Whether the archive is gzip-compressed.
    public let isCompressed: Bool

    /// The verified claims.
    public var claims: ProviderClaims { token.claims }
}
