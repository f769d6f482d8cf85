import PARClaims
import PARNKeys

extension ProviderMetadata {
    /// Signs claims carrying this metadata into the token claims.jwt holds: the one place
    /// where the builder and insert make claims. The token is checked as every load reads it
    /// before it is returned (``ClaimsToken/init(signing:with:)``).
    ///
    /// - Parameters:
    ///   - issuer: The account key that signs.
    ///   - subject: The provider's service key.
    ///   - expires: Seconds since 1970 after which the claims are refused; `nil` for never.
    ///   - notBefore: Seconds since 1970 before which the claims are refused; `nil` for now.
    /// - Throws: ``ProviderArchiveError/claims(_:)`` when a key has the wrong role or the
    ///   claims would be refused by a reader.
    func signed(
        issuer: NKeyPair, subject: NKeyPair, expires: UInt64? = nil, notBefore: UInt64? = nil
    ) throws(ProviderArchiveError) -> ClaimsToken {
        let claims = ProviderClaims(
            issuer: issuer.publicKey, subject: subject.publicKey, metadata: self, expires: expires, notBefore: notBefore)
        return try claims.signed(with: issuer)
    }
}

extension ProviderClaims {
    /// Signs these claims, checked as every load reads them.
    ///
    /// - Parameter issuer: The account key that signs; its public key must be ``issuer``.
    /// - Throws: ``ProviderArchiveError/claims(_:)``.
    func signed(with issuer: NKeyPair) throws(ProviderArchiveError) -> ClaimsToken {
        do {
            return try ClaimsToken(signing: self, with: issuer)
        } catch {
            throw .claims(error)
        }
    }
}
