import ProviderArchiveKit

/// A content digest, as registries name blobs and manifests: `sha256:` and 64 lowercase hex
/// digits. The same SHA-256 the archive layer computes (`SHA256Hash`), in the registry's
/// spelling.
public struct Digest: Hashable, Sendable, CustomStringConvertible {
    /// The SHA-256 it names.
    public let hash: SHA256Hash

    /// The digest of a hash.
    ///
    /// - Parameter hash: A SHA-256.
    public init(_ hash: SHA256Hash) {
        self.hash = hash
    }

    /// Parses `sha256:` and 64 lowercase hex digits, as registries write digests.
    ///
    /// - Parameter text: The digest's text.
    /// - Returns: `nil` for anything else (another algorithm, uppercase, a wrong length).
    public init?(_ text: String) {
        guard text.hasPrefix("sha256:") else { return nil }
        let hex = text.dropFirst(7)
        guard hex.utf8.count == 64, hex.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }),
            let hash = SHA256Hash(hex: String(hex))
        else { return nil }
        self.hash = hash
    }

    /// Parses a digest a person typed to pin a pull: with or without `sha256:`, either case.
    ///
    /// - Parameter text: The digest's text.
    /// - Returns: `nil` when it is not a SHA-256 digest.
    public init?(pinning text: String) {
        let lowered = text.lowercased()
        self.init(lowered.hasPrefix("sha256:") ? lowered : "sha256:" + lowered)
    }

    /// The digest of bytes in memory.
    ///
    /// - Parameter bytes: The bytes.
    /// - Returns: Their digest.
    public static func of(_ bytes: [UInt8]) -> Digest {
        Digest(StreamingHash.hash(bytes))
    }

    /// `sha256:` and the lowercase hex digits.
    public var description: String { "sha256:" + hash.lowercaseHex }
}
