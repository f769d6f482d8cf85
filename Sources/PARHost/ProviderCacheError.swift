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
    /// The source is not an archive file or a pipe: a device (`/dev/zero` never ends), a
    /// socket or a folder.
    case notAnArchiveFile(path: String, kind: String)
    /// The archive file's bytes changed between being hashed and being extracted.
    case changedWhileRead(path: String)
    /// A cache record was damaged or unreadable; it was removed, and cannot be rebuilt
    /// offline.
    case damagedRecord(path: String, reason: String)
    /// Something that is not a regular file sits where a cache file belongs and cannot be
    /// removed.
    case notARegularFile(path: String, kind: String)

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
            "\(source) is not in the cache, and the registry may not be reached (offline): run it once online first"
        case .tampered(let path):
            "the cached binary \(path) no longer matches its signed hash: it was removed, not run, and cannot be fetched again offline; run once online"
        case .cannotStart(let path, let code):
            "cannot start \(path): \(String(cString: strerror(code)))"
        case .notAnArchiveFile(let path, let kind):
            "\(path) is \(kind), not an archive file: give an archive file, a pipe or a registry reference"
        case .changedWhileRead(let path):
            "\(path) changed while it was read: run again once it is written"
        case .damagedRecord(let path, let reason):
            "the cache record \(path) was damaged (\(reason)): it was removed, and cannot be rebuilt offline; run once online"
        case .notARegularFile(let path, let kind):
            "\(path) is \(kind) where the cache keeps a file, and cannot be removed: remove it by hand"
        }
    }
}
