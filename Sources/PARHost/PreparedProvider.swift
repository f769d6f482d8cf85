import Foundation
import PARBytes
import PARClaims

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A provider binary from the cache, verified and open: the descriptor it was hashed from
/// is the one ``exec(hostData:environment:)`` runs, so what was checked is what runs.
public final class PreparedProvider: @unchecked Sendable {
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
        close(descriptor)
    }

    /// The verified claims.
    public var claims: ProviderClaims { token.claims }

    /// Replaces this process with the provider, as the wasmCloud host starts one: no
    /// arguments but its path, the environment given (the host passes `RUST_LOG` and `OTEL_*`
    /// only), and on standard input the host data, base64 with padding, then `\r\n`, then the
    /// end of the input. The provider keeps this process's id, signals and exit status.
    ///
    /// - Parameters:
    ///   - hostData: The host data document (compact JSON).
    ///   - environment: The provider's whole environment.
    /// - Throws: ``ProviderCacheError`` when it cannot be started; on success it never returns.
    public func exec(hostData: [UInt8], environment: [String: String]) throws(ProviderCacheError) -> Never {
        // Standard input is an unlinked file holding the data: any size arrives whole, and
        // the provider reads it to its end. It is made in the cache's own folder (0700, this
        // user's), as the data may hold secrets.
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().deletingLastPathComponent().path
        var template = Array((folder + "/downloads/host-data-XXXXXX").utf8CString)
        let input = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard input >= 0 else { throw .cannotStart(path: path, code: errno) }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        let line = Array(Data(hostData).base64EncodedString().utf8) + [0x0D, 0x0A]
        let written = line.withUnsafeBytes { bytes -> Bool in
            var offset = 0
            while offset < bytes.count {
                let count = write(input, bytes.baseAddress! + offset, bytes.count - offset)
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { return false }
                offset += count
            }
            return true
        }
        guard written else { throw .cannotStart(path: path, code: errno) }
        guard lseek(input, 0, SEEK_SET) == 0, dup2(input, STDIN_FILENO) == STDIN_FILENO else {
            throw .cannotStart(path: path, code: errno)
        }
        close(input)
        // The descriptor stays open in the provider, and with it the lock that keeps prune away.
        _ = fcntl(descriptor, F_SETFD, 0)
        // What par ignores (SIGXFSZ) the provider must not inherit.
        signal(SIGXFSZ, SIG_DFL)
        let arguments = [path]
        let variables = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let code = withCStrings(arguments) { argv in
            withCStrings(variables) { envp in
                fexecve(descriptor, argv, envp)
                return errno
            }
        }
        throw .cannotStart(path: path, code: code)
    }
}

/// Runs `body` with a NULL-terminated array of C strings.
private func withCStrings<Result>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> Result) -> Result {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { pointers.forEach { free($0) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
