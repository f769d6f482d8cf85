/// What can be wrong with an nkey's text form, a key's role, or a signature's shape.
public enum NKeyError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The text has the wrong number of characters for what was asked for.
    case invalidLength(expected: Int, actual: Int)
    /// A character is not in the base32 alphabet (`A-Z`, `2-7`), or the last one has stray bits.
    case invalidBase32(position: Int)
    /// The CRC-16 at the end of the key does not match its content: a typo or a damaged key.
    case checksumMismatch
    /// The prefix byte names no known key role.
    case unknownPrefix(UInt8)
    /// A public key was given where a seed (private key) is needed.
    case publicKeyWhereSeedExpected(NKeyRole)
    /// A seed was given where a public key is needed.
    case seedWherePublicKeyExpected
    /// The key is valid but of another role than the one required.
    case wrongRole(expected: NKeyRole, actual: NKeyRole)
    /// A signature is not 64 bytes long.
    case invalidSignatureLength(Int)

    public var description: String {
        switch self {
        case .invalidLength(let expected, let actual):
            "the key has \(actual) characters, but an nkey \(expected == NKeyPublicKey.encodedLength ? "public key" : "seed") has \(expected): check that it was copied whole"
        case .invalidBase32(let position):
            "the key has a character outside the base32 alphabet A-Z 2-7 at position \(position + 1): check that it was copied exactly"
        case .checksumMismatch:
            "the key's checksum does not match its content: the key is mistyped or damaged"
        case .unknownPrefix(let byte):
            "the key starts with prefix byte \(byte), which names no nkey role"
        case .publicKeyWhereSeedExpected(let role):
            "this is the public key of \(role.withArticle) (it starts with \(role.letter)); signing needs its seed, which starts with S\(role.letter)"
        case .seedWherePublicKeyExpected:
            "this is a seed (a private key), where a public key is expected: give the public key instead, and keep the seed secret"
        case .wrongRole(let expected, let actual):
            "the key belongs to \(actual.withArticle) (\(actual.letter)...), but \(expected.withArticle) key (\(expected.letter)...) is needed here"
        case .invalidSignatureLength(let count):
            "an Ed25519 signature has 64 bytes, not \(count)"
        }
    }
}
