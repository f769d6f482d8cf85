import Foundation
import PARBytes
import PARClaims


/// A provider binary from the cache, verified and open: the descriptor it was hashed from
/// is the one ``exec(hostData:environment:)`` runs, so what was checked is what runs.
public final class PreparedProvider: Sendable {
    /// The binary's path in the cache.
    public let path: String
    /// The archive's verified claims token.
    public let token: ClaimsToken
    /// The target the binary is for.
    public let target: Target
    /// The SHA-256 of the archive the binary came from.
    public let archiveDigest: SHA256Hash
    /// The binary's SHA-256, as the signed claims give it and as it was just read.
    public let binaryHash: SHA256Hash
    /// Where the provider came from.
    public let source: ProviderSource
    /// Open, with a shared lock that `prune` respects; kept across `exec`.
    let descriptor: Int32

    init(
        descriptor: Int32, path: String, token: ClaimsToken, target: Target, archiveDigest: SHA256Hash,
        binaryHash: SHA256Hash, source: ProviderSource
    ) {
        // The file, open; and what it is: the verified claims, the archive and the source.
        (self.descriptor, self.path, self.binaryHash) = (descriptor, path, binaryHash)
        (self.token, self.target, self.archiveDigest, self.source) = (token, target, archiveDigest, source)
    }

    deinit {
        System.close(descriptor)
    }

    /// The verified claims.
    public var claims: ProviderClaims { token.claims }

    /// Replaces this process with the provider, as the wasmCloud host starts one: no
    /// arguments but its path, the environment given (byte for byte), and on standard input
    /// the host data, base64 with padding, then `\r\n`, then the end of the input. The
    /// provider keeps this process's id and exit status.
    ///
    /// It starts in the state the host's `Command` gives it, whatever thread calls this: an
    /// empty signal mask; SIGPIPE and every signal this process handles or ignores itself
    /// back to the default, while a signal this process's own parent left ignored stays
    /// ignored; and no open descriptor but 0, 1, 2 and the binary's own (which keeps the
    /// shared lock that holds prune off). Finish all asynchronous work first: other threads
    /// end with the exec.
    ///
    /// The host data goes through a sealed in-memory file (an unlinked file in the temporary
    /// folder where the system has none), so it never touches the cache: a read-only cache
    /// starts providers too.
    ///
    /// - Parameters:
    ///   - hostData: What the host tells the provider.
    ///   - environment: The provider's whole environment; the host's filter of this process's
    ///     by default.
    /// - Throws: ``ProviderCacheError/cannotStart(path:code:)``; on success it never returns.
    public func exec(hostData: HostData, environment: ProviderEnvironment = .inherited) throws(ProviderCacheError) -> Never {
        try exec(hostDataDocument: hostData.json, environment: environment)
    }

    /// Replaces this process with the provider, as ``exec(hostData:environment:)`` does, with
    /// a host data document of the caller's own (such as one a host wrote to a file).
    ///
    /// - Parameters:
    ///   - document: The host data document; sent as compact JSON.
    ///   - environment: The provider's whole environment.
    /// - Throws: ``ProviderCacheError/cannotStart(path:code:)``; on success it never returns.
    public func exec(hostDataDocument document: JSONValue, environment: ProviderEnvironment = .inherited) throws(ProviderCacheError) -> Never {
        let line = Array(Data(document.serialized.utf8).base64EncodedString().utf8) + [0x0D, 0x0A]
        let input = try Self.inputFile(holding: line, for: path)
        defer { System.close(input) }
        let code = System.exec(descriptor, input: input, arguments: [Array(path.utf8)], environment: environment.variables)
        throw .cannotStart(path: path, code: code)
    }

    /// A descriptor reading `bytes` from their start (see `System.readableCopy(of:)`).
    private static func inputFile(holding bytes: [UInt8], for path: String) throws(ProviderCacheError) -> Int32 {
        do {
            return try System.readableCopy(of: bytes)
        } catch {
            throw .cannotStart(path: path, code: error.code)
        }
    }
}
