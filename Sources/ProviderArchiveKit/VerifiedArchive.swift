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

    /// Every target the signed claims name, sorted: those present and those not.
    public var signedTargets: [Target] { claims.metadata.targetHashes.keys.sorted() }

    /// Whether this is a full archive or a platform slice, from what was present.
    public var kind: ArchiveKind {
        let signed = claims.metadata.targetHashes.count
        if targets.count == signed { return .full(targets: signed) }
        if targets.count == 1, let only = targets.keys.first { return .platformSlice(only, signedTargets: signed) }
        return .incomplete(present: targets.count, signedTargets: signed)
    }
}

/// How much of what its claims sign an archive holds.
///
/// A *platform slice* holds the original signed claims.jwt, world.wasm if the claims name
/// one, and exactly one target's binary: what a host of that platform needs, and all that an
/// image index of slices sends it (see `ProviderRegistry.pushSlices` in PARRegistry).
public enum ArchiveKind: Equatable, Sendable, CustomStringConvertible {
    /// Every signed target is present.
    case full(targets: Int)
    /// One signed target of several.
    case platformSlice(Target, signedTargets: Int)
    /// Some signed targets, but not all and not one: only a load or extract of one target
    /// accepts this.
    case incomplete(present: Int, signedTargets: Int)

    /// Whether this is a platform slice.
    public var isPlatformSlice: Bool {
        if case .platformSlice = self { true } else { false }
    }

    public var description: String {
        switch self {
        case .full(let count): "full archive: \(count) of \(count) signed target\(count == 1 ? "" : "s")"
        case .platformSlice(let target, let signed): "platform slice: 1 of \(signed) signed targets (\(target))"
        case .incomplete(let present, let signed): "incomplete archive: \(present) of \(signed) signed targets"
        }
    }
}
