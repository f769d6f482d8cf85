import PARBytes
import PARClaims

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
        guard let text = String(validating: try rawToken(from: source), as: UTF8.self) else {
            throw .claims(.invalidBase64(segment: 0))
        }
        return text
    }

    /// Reads what an archive file's claims.jwt says **without** verifying anything, as
    /// ``claimsWithoutVerifying(from:)`` does. Never trust the result.
    ///
    /// - Parameter path: The archive's path: a regular file or a pipe.
    /// - Returns: The claims as written, unverified.
    /// - Throws: ``ProviderArchiveError`` when the file cannot be read or holds no readable claims.jwt.
    public static func claimsWithoutVerifying(path: String) throws(ProviderArchiveError) -> ProviderClaims {
        try claimsWithoutVerifying(from: try openArchiveFile(path))
    }

    /// The text of an archive file's claims.jwt **without** verifying anything, as
    /// ``tokenWithoutVerifying(from:)`` reads it. Never trust the result.
    ///
    /// - Parameter path: The archive's path: a regular file or a pipe.
    /// - Returns: The token's text, as stored.
    /// - Throws: ``ProviderArchiveError`` when the file cannot be read or holds no claims.jwt.
    public static func tokenWithoutVerifying(path: String) throws(ProviderArchiveError) -> String {
        try tokenWithoutVerifying(from: try openArchiveFile(path))
    }

    /// The bytes of the first claims.jwt entry, whatever else the archive holds.
    private static func rawToken(from source: any ByteSource) throws(ProviderArchiveError) -> [UInt8] {
        let reader = try ArchiveReader(source, mode: .unverified)
        while let entry = try reader.next() {
            if entry.name == .claims, let bytes = reader.claimsBytes { return bytes }
        }
        throw .missingClaims
    }
}
