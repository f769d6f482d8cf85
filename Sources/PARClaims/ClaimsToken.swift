import PARBytes
import PARNKeys

/// A signed claims token: the text of `claims.jwt` and the claims it carries (PAR-FORMAT section 3).
///
/// Make one with ``init(signing:with:)``; read one with ``init(verifying:policy:)``, which
/// checks everything a host should before trusting the claims.
public struct ClaimsToken: Equatable, Sendable {
    /// The largest token accepted. Real tokens are a few KiB even with a config schema.
    public static let maximumSize = 1 << 20

    /// The header every token has, in the reference's key order.
    static let header = #"{"typ":"jwt","alg":"Ed25519"}"#

    /// The claims.
    public let claims: ProviderClaims

    /// The token text, `HEADER.CLAIMS.SIGNATURE`, exactly as written or read.
    public let encoded: String

    /// Signs claims with the issuer's account key.
    ///
    /// - Parameters:
    ///   - claims: The claims; `claims.issuer` must be the public key of `issuer`.
    ///   - issuer: The account key pair to sign with.
    /// - Throws: ``ClaimsError/invalidKey(claim:_:)`` when `issuer` is not an account key or
    ///   the subject not a service key; ``ClaimsError/issuerKeyMismatch(claimed:signer:)``
    ///   when the claims name another issuer.
    public init(signing claims: ProviderClaims, with issuer: NKeyPair) throws(ClaimsError) {
        guard issuer.role == .account else {
            throw .invalidKey(claim: "iss", .wrongRole(expected: .account, actual: issuer.role))
        }
        guard claims.subject.role == .service else {
            throw .invalidKey(claim: "sub", .wrongRole(expected: .service, actual: claims.subject.role))
        }
        guard claims.issuer == issuer.publicKey else {
            throw .issuerKeyMismatch(claimed: claims.issuer, signer: issuer.publicKey)
        }
        let json = claims.json
        // Measured before serializing, which recurses: a value built in code may nest deeply.
        guard json.depth <= JSONValue.maximumDepth else { throw .nestedTooDeeply(limit: JSONValue.maximumDepth) }
        let signingInput = Base64URL.encode(Array(Self.header.utf8)) + "." + Base64URL.encode(Array(json.serialized.utf8))
        let signature = issuer.sign(Array(signingInput.utf8))
        let encoded = signingInput + "." + Base64URL.encode(signature)
        // Never sign what a reader refuses: decode the token as every load will, with the
        // same limits and errors (size, nesting, number literals built in code, ...).
        _ = try Self.parse(Array(encoded.utf8))
        self.claims = claims
        self.encoded = encoded
    }

    /// Decodes a token and checks it: its shape, header, claim types, that the issuer is an
    /// account and the subject a service key, the Ed25519 signature against the issuer, and
    /// the policy (trusted issuers, `exp`, `nbf`).
    ///
    /// - Parameters:
    ///   - token: The text of `claims.jwt`.
    ///   - policy: What to require beyond a valid signature.
    /// - Throws: ``ClaimsError`` naming the first check that failed.
    public init(verifying token: some Collection<UInt8>, policy: VerificationPolicy = .default) throws(ClaimsError) {
        let bytes = Array(token)
        let parsed = try Self.parse(bytes)
        let claims = parsed.claims
        guard claims.issuer.isValidSignature(parsed.signature, for: bytes[..<parsed.signingInputEnd]) else {
            throw .badSignature
        }
        if let trusted = policy.trustedIssuers, !trusted.contains(claims.issuer) {
            throw .untrustedIssuer(claims.issuer)
        }
        if !policy.allowsExpired {
            let now = policy.unixValidationTime
            if let expires = claims.expires, now > expires { throw .expired(expiresAt: expires, now: now) }
            if let notBefore = claims.notBefore, now < notBefore { throw .notYetValid(notBefore: notBefore, now: now) }
        }
        self.claims = claims
        self.encoded = String(decoding: bytes, as: UTF8.self)
    }

    /// Decodes a token's claims **without** checking its signature, issuer or validity period.
    ///
    /// Only for showing what an archive that failed verification claims to be; never base a
    /// decision on the result. The token's shape, header and claim types are still checked.
    ///
    /// - Parameter token: The text of `claims.jwt`.
    /// - Returns: The claims, unverified.
    /// - Throws: ``ClaimsError`` when the token cannot be decoded at all.
    public static func decodeWithoutVerifying(_ token: some Collection<UInt8>) throws(ClaimsError) -> ProviderClaims {
        try parse(Array(token)).claims
    }

    /// Splits and decodes a token: everything but the signature check and the policy.
    private static func parse(_ bytes: [UInt8]) throws(ClaimsError) -> (claims: ProviderClaims, signature: [UInt8], signingInputEnd: Int) {
        guard bytes.count <= Self.maximumSize else {
            throw .tokenTooLarge(size: bytes.count, limit: Self.maximumSize)
        }
        let segments = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard segments.count == 3 else { throw .malformedToken(segments: segments.count) }
        guard let headerBytes = Base64URL.decode(segments[0]) else { throw .invalidBase64(segment: 0) }
        guard let claimsBytes = Base64URL.decode(segments[1]) else { throw .invalidBase64(segment: 1) }
        guard let signature = Base64URL.decode(segments[2]) else { throw .invalidBase64(segment: 2) }

        let header = try parseJSON(headerBytes)
        guard case .object = header else { throw .invalidJSON("the header is not a JSON object") }
        let algorithm = header["alg"].flatMap(\.stringValue)
        let type = header["typ"].flatMap(\.stringValue)
        // Exactly, as wascap's validate_token compares them: `JWT` or `ed25519` is refused.
        guard algorithm == "Ed25519", type == "jwt" else {
            throw .unsupportedHeader(algorithm: algorithm, type: type)
        }
        let claims = try ProviderClaims(json: try parseJSON(claimsBytes))
        return (claims, signature, segments[1].endIndex)
    }

    /// A segment's JSON, its errors said as claims.jwt's.
    private static func parseJSON(_ bytes: [UInt8]) throws(ClaimsError) -> JSONValue {
        do throws(JSONError) {
            return try JSONValue(parsing: bytes)
        } catch {
            switch error {
            case .invalid(let reason, let offset): throw .invalidJSON("\(reason) at byte \(offset)")
            case .nestedTooDeeply(let limit): throw .nestedTooDeeply(limit: limit)
            }
        }
    }
}
