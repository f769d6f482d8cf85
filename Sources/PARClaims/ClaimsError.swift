import PARNKeys

/// What can be wrong with a claims token (claims.jwt) or a value that goes into one.
public enum ClaimsError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The token is larger than ``ClaimsToken/maximumSize``, read or about to be written.
    case tokenTooLarge(size: Int, limit: Int)
    /// The claims nest JSON arrays and objects deeper than ``JSONValue/maximumDepth``, read
    /// or about to be written.
    case nestedTooDeeply(limit: Int)
    /// The token is not three dot-separated segments.
    case malformedToken(segments: Int)
    /// A segment (0 header, 1 claims, 2 signature) is not unpadded base64url.
    case invalidBase64(segment: Int)
    /// A segment is not valid JSON, or not a JSON object.
    case invalidJSON(String)
    /// The header is not `{"typ":"jwt","alg":"Ed25519"}`.
    case unsupportedHeader(algorithm: String?, type: String?)
    /// A required claim is missing.
    case missingClaim(String)
    /// A claim holds a value of the wrong type or out of range.
    case invalidClaim(name: String, reason: String)
    /// The issuer or subject is not a valid nkey public key, or not of the required role.
    case invalidKey(claim: String, NKeyError)
    /// The signature does not verify against the issuer's key.
    case badSignature
    /// The issuer is valid but not in the caller's set of trusted issuers.
    case untrustedIssuer(NKeyPublicKey)
    /// The claims expired (`exp`) before the validation time.
    case expired(expiresAt: UInt64, now: UInt64)
    /// The claims are not valid yet (`nbf`) at the validation time.
    case notYetValid(notBefore: UInt64, now: UInt64)
    /// The signing key is not the account key named as the issuer in the claims.
    case issuerKeyMismatch(claimed: NKeyPublicKey, signer: NKeyPublicKey)
    /// A target name is not of the form `ARCH-OS`.
    case invalidTargetName(String)

    public var description: String {
        switch self {
        case .tokenTooLarge(let size, let limit):
            "claims.jwt is \(size) bytes, more than the \(limit) a reader accepts: keep the config schema well under 1 MiB"
        case .nestedTooDeeply(let limit):
            "claims.jwt nests JSON more than \(limit) levels deep, more than a reader accepts: keep the config schema shallower"
        case .malformedToken(let segments):
            "claims.jwt has \(segments) segment\(segments == 1 ? "" : "s") where a JWT has 3 (header.claims.signature): the file is damaged"
        case .invalidBase64(let segment):
            "the \(Self.segmentName(segment)) of claims.jwt is not unpadded base64url: the file is damaged"
        case .invalidJSON(let reason):
            "claims.jwt holds invalid JSON (\(reason)): the file is damaged"
        case .unsupportedHeader(let algorithm, let type):
            "claims.jwt has header alg=\(algorithm ?? "none") typ=\(type ?? "none"); only alg=Ed25519 typ=jwt is accepted"
        case .missingClaim(let name):
            "claims.jwt has no '\(name)' claim, which a provider's claims must have"
        case .invalidClaim(let name, let reason):
            "the '\(name)' claim in claims.jwt is invalid: \(reason)"
        case .invalidKey(let claim, let error):
            "the '\(claim)' claim in claims.jwt is not a usable key: \(error)"
        case .badSignature:
            "the signature of claims.jwt does not verify against its issuer: the claims were changed after signing, or signed by another key"
        case .untrustedIssuer(let issuer):
            "the claims were signed by \(issuer), which is not one of the trusted issuers: add it to the trusted set if you trust it"
        case .expired(let expiresAt, let now):
            "the claims expired at \(expiresAt) (unix time; now is \(now)): re-sign the archive, or allow expired claims on purpose"
        case .notYetValid(let notBefore, let now):
            "the claims are not valid before \(notBefore) (unix time; now is \(now)): wait, or check the machine's clock"
        case .issuerKeyMismatch(let claimed, let signer):
            "the claims name \(claimed) as issuer but would be signed with \(signer): sign with the issuer's own seed"
        case .invalidTargetName(let name):
            "'\(name)' is not a target name: use ARCH-OS as Rust names them, such as x86_64-linux or aarch64-macos"
        }
    }

    private static func segmentName(_ segment: Int) -> String {
        switch segment {
        case 0: "header"
        case 1: "claims segment"
        default: "signature"
        }
    }
}
