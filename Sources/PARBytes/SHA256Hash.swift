/// A SHA-256 digest, in the two spellings this package meets it in:
///
/// - ``hex``: 64 uppercase hex digits, as claims.jwt's `target_hashes` hold it (the claims'
///   spelling, compared exactly by the reference);
/// - ``ociDigest`` (also ``description``): `sha256:` and 64 lowercase hex digits, as OCI
///   registries name blobs and manifests, and as par prints any hash it labels `sha256:`.
public struct SHA256Hash: Hashable, Sendable, CustomStringConvertible {
    /// The 32 digest bytes.
    public let bytes: [UInt8]

    /// Wraps 32 digest bytes.
    ///
    /// - Parameter bytes: The digest; must be 32 bytes.
    /// - Returns: `nil` when `bytes` is not 32 bytes long.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 32 else { return nil }
        self.bytes = Array(bytes)
    }

    /// Parses 64 hex digits, the claims' spelling. The reference writes uppercase;
    /// lowercase is read too.
    ///
    /// - Parameter hex: The digest in hex.
    /// - Returns: `nil` when `hex` is not 64 hex digits.
    public init?(hex: String) {
        let characters = Array(hex.utf8)
        guard characters.count == 64 else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity(32)
        for index in stride(from: 0, to: 64, by: 2) {
            guard let high = Self.nibble(characters[index]), let low = Self.nibble(characters[index + 1]) else {
                return nil
            }
            bytes.append(high << 4 | low)
        }
        self.bytes = bytes
    }

    /// Parses an OCI digest exactly as registries write it: `sha256:` and 64 lowercase hex
    /// digits.
    ///
    /// - Parameter text: The digest's text.
    /// - Returns: `nil` for anything else (another algorithm, uppercase, a wrong length).
    public init?(ociDigest text: String) {
        guard text.hasPrefix("sha256:") else { return nil }
        let hex = text.dropFirst(7)
        guard hex.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else { return nil }
        self.init(hex: String(hex))
    }

    /// Parses a digest a person typed to pin a pull: with or without `sha256:`, either case.
    ///
    /// - Parameter text: The digest's text.
    /// - Returns: `nil` when it is not a SHA-256 digest.
    public init?(pinning text: String) {
        let lowered = text.lowercased()
        self.init(ociDigest: lowered.hasPrefix("sha256:") ? lowered : "sha256:" + lowered)
    }

    /// The digest as 64 uppercase hex digits, the claims' spelling.
    public var hex: String {
        Self.hexDigits(bytes, alphabet: "0123456789ABCDEF")
    }

    /// The digest as 64 lowercase hex digits.
    public var lowercaseHex: String {
        Self.hexDigits(bytes, alphabet: "0123456789abcdef")
    }

    /// The digest as OCI registries write it: `sha256:` and 64 lowercase hex digits.
    public var ociDigest: String { "sha256:" + lowercaseHex }

    /// ``ociDigest``: the spelling that says what it is.
    public var description: String { ociDigest }

    /// The SHA-256 of bytes in memory.
    ///
    /// - Parameter bytes: The bytes.
    /// - Returns: Their digest.
    public static func of(_ bytes: [UInt8]) -> SHA256Hash {
        var hasher = SHA256Hasher()
        bytes.withUnsafeBytes { hasher.update($0) }
        return hasher.finalize()
    }

    private static func hexDigits(_ bytes: [UInt8], alphabet: String) -> String {
        let digits = Array(alphabet.utf8)
        var output = [UInt8]()
        output.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            output.append(digits[Int(byte >> 4)])
            output.append(digits[Int(byte & 15)])
        }
        return String(decoding: output, as: UTF8.self)
    }

    private static func nibble(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): character - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): character - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}
