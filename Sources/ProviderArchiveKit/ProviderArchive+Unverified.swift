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
            let tar = try ArchiveContainer.open(source).tar
            while let entry = try tar.nextEntry() {
                guard entry.kind == .regularFile, entry.name == "claims.jwt" || entry.name == "./claims.jwt" else { continue }
                guard entry.size <= UInt64(ClaimsToken.maximumSize) else {
                    throw ClaimsError.tokenTooLarge(size: Int(clamping: entry.size), limit: ClaimsToken.maximumSize)
                }
                let token = try ArchiveScanner.readWhole(entry, from: tar)
                return try ClaimsToken.decodeWithoutVerifying(token)
            }
            throw ProviderArchiveError.missingClaims
        } catch {
            throw .wrapping(error)
        }
    }
}
