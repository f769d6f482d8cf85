import PARBytes
import PARClaims
import PARRegistry
import ProviderArchiveKit

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a provider could not be prepared from the cache, or the cache could not be used.
public enum ProviderCacheError: Error, Sendable, CustomStringConvertible {
    /// A cache folder is not safe to run binaries from.
    case unsafeFolder(path: String, reason: String, fix: String)
    /// A cache file could not be read or written.
    case file(FileError)
    /// The archive or its claims failed verification.
    case archive(ProviderArchiveError)
    /// The registry failed.
    case registry(RegistryError)
    /// The archive has no binary for the target this machine needs.
    case missingTarget(Target, available: [Target])
    /// Offline, and the cache does not hold what the source names.
    case notCached(String)
    /// A cached binary no longer matches its signed hash, and cannot be fetched again.
    case tampered(path: String)
    /// The binary could not be started.
    case cannotStart(path: String, code: Int32)

    public var description: String {
        switch self {
        case .unsafeFolder(let path, let reason, let fix):
            "the cache folder \(path) \(reason), so a binary in it could be replaced by someone else: \(fix)"
        case .file(let error):
            error.description
        case .archive(let error):
            error.description
        case .registry(let error):
            error.description
        case .missingTarget(let target, let available):
            "the archive has no binary for \(target), which this machine needs; it has \(available.isEmpty ? "none" : available.map(\.name).joined(separator: ", ")): pass --target to run another, or add this one with par insert"
        case .notCached(let source):
            "\(source) is not in the cache, and --offline forbids fetching it: run it once online first"
        case .tampered(let path):
            "the cached binary \(path) no longer matches its signed hash: it was removed, not run, and cannot be fetched again offline; run once online"
        case .cannotStart(let path, let code):
            "cannot start \(path): \(String(cString: strerror(code)))"
        }
    }
}
