import Crypto

/// An nkey with its private half: a role and an Ed25519 key pair stored as a 32-byte seed
/// (PAR-FORMAT section 4).
///
/// The seed's text form is 58 characters starting with `S` and the role's letter (`SA...` for
/// an account, `SV...` for a service). ``description`` never shows it: read ``seed`` on purpose.
public struct NKeyPair: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The number of characters in a seed's text form.
    public static let encodedSeedLength = 58

    /// The role the key was made for.
    public let role: NKeyRole

    /// The 32-byte Ed25519 seed. (swift-crypto's key type is not Sendable, so the seed is kept.)
    private let rawSeed: [UInt8]

    /// The public half of the pair.
    public let publicKey: NKeyPublicKey

    /// Creates a key pair from a role and a raw 32-byte seed: an Ed25519 seed, or for
    /// ``NKeyRole/curve`` an X25519 private key (NATS xkeys), whose public half is derived
    /// by X25519, not Ed25519.
    ///
    /// - Parameters:
    ///   - role: The key's role.
    ///   - rawSeed: The 32-byte seed.
    /// - Throws: ``NKeyError/invalidLength(expected:actual:)`` when the seed is not 32 bytes.
    public init(role: NKeyRole, rawSeed: [UInt8]) throws(NKeyError) {
        guard rawSeed.count == 32 else { throw .invalidLength(expected: 32, actual: rawSeed.count) }
        let publicBytes: [UInt8]
        if role == .curve {
            guard let key = try? Curve25519.KeyAgreement.PrivateKey(rawRepresentation: rawSeed) else {
                throw .invalidLength(expected: 32, actual: rawSeed.count)
            }
            publicBytes = Array(key.publicKey.rawRepresentation)
        } else {
            guard let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: rawSeed) else {
                throw .invalidLength(expected: 32, actual: rawSeed.count)
            }
            publicBytes = Array(key.publicKey.rawRepresentation)
        }
        self.role = role
        self.rawSeed = rawSeed
        self.publicKey = try NKeyPublicKey(role: role, rawRepresentation: publicBytes)
    }

    /// Parses a seed's text form. Surrounding white space is ignored.
    ///
    /// - Parameter seed: A 58-character nkey seed, such as `SUAMLK2Z...`.
    /// - Throws: ``NKeyError`` naming the first check that failed; a public key given here
    ///   throws ``NKeyError/publicKeyWhereSeedExpected(_:)``.
    public init(seed: String) throws(NKeyError) {
        let trimmed = seed.trimmingASCIIWhitespace()
        if trimmed.utf8.count == NKeyPublicKey.encodedLength, let key = try? NKeyPublicKey(trimmed) {
            throw .publicKeyWhereSeedExpected(key.role)
        }
        guard trimmed.utf8.count == Self.encodedSeedLength else {
            throw .invalidLength(expected: Self.encodedSeedLength, actual: trimmed.count)
        }
        let raw = try Base32.decode(trimmed)
        try NKeyPublicKey.checkCRC(raw)
        guard raw[0] & 0xF8 == NKeyRole.seedPrefix, raw[1] & 0x07 == 0 else {
            throw .unknownPrefix(raw[0])
        }
        let rolePrefix = (raw[0] & 0x07) << 5 | raw[1] >> 3
        guard let role = NKeyRole(rawValue: rolePrefix) else { throw .unknownPrefix(rolePrefix) }
        try self.init(role: role, rawSeed: Array(raw[2..<34]))
    }

    /// Parses a seed and requires it to have a given role.
    ///
    /// - Parameters:
    ///   - seed: A 58-character nkey seed.
    ///   - role: The role the key must have.
    /// - Throws: ``NKeyError/wrongRole(expected:actual:)`` for a valid seed of another role.
    public init(seed: String, role: NKeyRole) throws(NKeyError) {
        try self.init(seed: seed)
        guard self.role == role else { throw .wrongRole(expected: role, actual: self.role) }
    }

    /// Generates a new key pair from the system's secure random number generator.
    ///
    /// - Parameter role: The role of the new key.
    /// - Returns: A fresh key pair.
    public static func generate(role: NKeyRole) -> NKeyPair {
        var generator = SystemRandomNumberGenerator()
        let seed = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        // A 32-byte seed is always accepted.
        guard let pair = try? NKeyPair(role: role, rawSeed: seed) else {
            preconditionFailure("a 32-byte Ed25519 seed was refused")
        }
        return pair
    }

    /// The seed's text form, 58 characters starting with `S`. Keep it secret.
    public var seed: String {
        let raw = rawSeed
        var body = [NKeyRole.seedPrefix | role.rawValue >> 5, (role.rawValue & 31) << 3] + raw
        let crc = CRC16.checksum(body)
        body.append(UInt8(truncatingIfNeeded: crc))
        body.append(UInt8(truncatingIfNeeded: crc >> 8))
        return Base32.encode(body)
    }

    /// Signs a message with Ed25519. Signatures are deterministic (RFC 8032) on Linux.
    ///
    /// - Parameter message: The bytes to sign.
    /// - Returns: The 64-byte signature.
    /// - Precondition: The role is not ``NKeyRole/curve``: X25519 keys agree on secrets, they
    ///   do not sign.
    public func sign(_ message: some Collection<UInt8>) -> [UInt8] {
        precondition(role != .curve, "a curve (X25519) key cannot sign")
        // BoringSSL's ED25519_sign cannot fail for a valid key.
        guard let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: rawSeed),
            let signature = try? key.signature(for: Array(message))
        else {
            preconditionFailure("Ed25519 signing failed")
        }
        return Array(signature)
    }

    /// The role and public key; the seed stays out of logs.
    public var description: String { "NKeyPair(\(role), \(publicKey.encoded))" }
    public var debugDescription: String { description }
}
