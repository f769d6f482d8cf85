extension ProviderArchive {
    /// Reads what an archive's claims.jwt says **without** verifying the signature, the hashes
    /// or anything else: for showing what a damaged or tampered archive claims to be, next to
    /// the reason it failed verification. Never trust the result.
    ///
    /// - Parameter source: The archive's bytes, plain or gzip.
    /// - Returns: The claims as written, unverified.
    /// - Throws: ``ProviderArchiveError`` when no readable claims.jwt is found.
    public static func claimsWithoutVerifying(from source: any ByteSource) throws(ProviderArchiveError) -> ProviderClaims {
        do {
            return try ClaimsToken.decodeWithoutVerifying(try rawToken(from: source))
        } catch {
            throw .wrapping(error)
        }
    }

    /// The text of an archive's claims.jwt **without** verifying anything, as
    /// `wash inspect --jwt-only` prints it. Never trust the result.
    ///
    /// - Parameter source: The archive's bytes, plain or gzip.
    /// - Returns: The token's text, as stored.
    /// - Throws: ``ProviderArchiveError`` when no claims.jwt of at most 1 MiB of UTF-8 is found.
    public static func tokenWithoutVerifying(from source: any ByteSource) throws(ProviderArchiveError) -> String {
        do {
            guard let text = String(validating: try rawToken(from: source), as: UTF8.self) else {
                throw ClaimsError.invalidBase64(segment: 0)
            }
            return text
        } catch {
            throw .wrapping(error)
        }
    }

    /// The bytes of the first claims.jwt entry.
    private static func rawToken(from source: any ByteSource) throws -> [UInt8] {
        let tar = try ArchiveContainer.open(source).tar
        while let entry = try tar.nextEntry() {
            guard entry.kind == .regularFile, entry.name == "claims.jwt" || entry.name == "./claims.jwt" else { continue }
            guard entry.size <= UInt64(ClaimsToken.maximumSize) else {
                throw ClaimsError.tokenTooLarge(size: Int(clamping: entry.size), limit: ClaimsToken.maximumSize)
            }
            return try ArchiveScanner.readWhole(entry, from: tar)
        }
        throw ProviderArchiveError.missingClaims
    }
}
