import Crypto

/// The public half of an nkey: a role and a 32-byte Ed25519 public key (PAR-FORMAT section 4).
///
/// Its text form is 56 characters of base32, e.g. `ACZ...` for an account. Parsing checks the
/// length, the alphabet, the CRC-16 and the role prefix, each with its own ``NKeyError``.
public struct NKeyPublicKey: Hashable, Sendable, CustomStringConvertible {
    /// The number of characters in a public key's text form.
    public static let encodedLength = 56

    /// The role the key was made for.
    public let role: NKeyRole

    /// The raw 32-byte Ed25519 public key.
    public let rawRepresentation: [UInt8]

    /// The text form, 56 characters starting with the role's letter.
    public let encoded: String

    /// Creates a public key from its role and raw Ed25519 bytes.
    ///
    /// - Parameters:
    ///   - role: The key's role.
    ///   - rawRepresentation: The 32-byte Ed25519 public key.
    /// - Throws: ``NKeyError/invalidLength(expected:actual:)`` when the key is not 32 bytes.
    public init(role: NKeyRole, rawRepresentation: [UInt8]) throws(NKeyError) {
        guard rawRepresentation.count == 32 else {
            throw .invalidLength(expected: 32, actual: rawRepresentation.count)
        }
        self.role = role
        self.rawRepresentation = rawRepresentation
        var body = [role.rawValue] + rawRepresentation
        let crc = CRC16.checksum(body)
        body.append(UInt8(truncatingIfNeeded: crc))
        body.append(UInt8(truncatingIfNeeded: crc >> 8))
        self.encoded = Base32.encode(body)
    }

    /// Parses a public key's text form. Surrounding white space is ignored.
    ///
    /// - Parameter text: A 56-character nkey public key, such as `UCK5N7N6...`.
    /// - Throws: ``NKeyError`` naming the first check that failed; a seed given here throws
    ///   ``NKeyError/seedWherePublicKeyExpected``.
    public init(_ text: String) throws(NKeyError) {
        let trimmed = text.trimmingASCIIWhitespace()
        if trimmed.utf8.count == NKeyPair.encodedSeedLength, trimmed.utf8.first == UInt8(ascii: "S") {
            throw .seedWherePublicKeyExpected
        }
        guard trimmed.utf8.count == Self.encodedLength else {
            throw .invalidLength(expected: Self.encodedLength, actual: trimmed.count)
        }
        let raw = try Base32.decode(trimmed)
        try Self.checkCRC(raw)
        if raw[0] & 0xF8 == NKeyRole.seedPrefix { throw .seedWherePublicKeyExpected }
        guard let role = NKeyRole(rawValue: raw[0]) else { throw .unknownPrefix(raw[0]) }
        try self.init(role: role, rawRepresentation: Array(raw[1..<33]))
    }

    /// Parses a public key and requires it to have a given role.
    ///
    /// - Parameters:
    ///   - text: A 56-character nkey public key.
    ///   - role: The role the key must have.
    /// - Throws: ``NKeyError/wrongRole(expected:actual:)`` for a valid key of another role.
    public init(_ text: String, role: NKeyRole) throws(NKeyError) {
        try self.init(text)
        guard self.role == role else { throw .wrongRole(expected: role, actual: self.role) }
    }

    /// Checks an Ed25519 signature made by this key's private half.
    ///
    /// - Parameters:
    ///   - signature: The 64-byte signature.
    ///   - message: The signed bytes.
    /// - Returns: `true` when the signature is valid for `message`.
    public func isValidSignature(_ signature: some Collection<UInt8>, for message: some Collection<UInt8>) -> Bool {
        guard signature.count == 64,
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: rawRepresentation)
        else { return false }
        return key.isValidSignature(Array(signature), for: Array(message))
    }

    public var description: String { encoded }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.encoded == rhs.encoded }
    public func hash(into hasher: inout Hasher) { hasher.combine(encoded) }

    /// Checks the little-endian CRC-16 in the last two bytes of a decoded key.
    static func checkCRC(_ raw: [UInt8]) throws(NKeyError) {
        guard raw.count > 2 else { throw .checksumMismatch }
        let body = raw.dropLast(2)
        let stored = UInt16(raw[raw.count - 2]) | UInt16(raw[raw.count - 1]) << 8
        guard CRC16.checksum(body) == stored else { throw .checksumMismatch }
    }
}

extension String {
    /// The string without leading and trailing spaces, tabs and line breaks.
    func trimmingASCIIWhitespace() -> String {
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        let bytes = Array(utf8)
        guard let start = bytes.firstIndex(where: { !isSpace($0) }),
            let end = bytes.lastIndex(where: { !isSpace($0) })
        else { return "" }
        return String(decoding: bytes[start...end], as: UTF8.self)
    }
}
