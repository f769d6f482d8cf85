import PARBytes
import PARClaims
import PARRegistry
import ProviderArchiveKit


/// Why a provider could not be prepared from the cache, or the cache could not be used.
public enum ProviderCacheError: Error, Sendable, CustomStringConvertible {
    /// A cache folder is not safe to run binaries from.
    case unsafeFolder(path: String, problem: UnsafeFolderProblem)
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
        case .unsafeFolder(let path, let problem):
            "the cache folder \(path) \(problem), so a binary in it could be replaced by someone else"
        case .file(let error):
            error.description
        case .archive(let error):
            error.description
        case .registry(let error):
            error.description
        case .missingTarget(let target, let available):
            "the archive has no binary for \(target), which this machine needs; it has \(available.isEmpty ? "none" : available.map(\.name).joined(separator: ", "))"
        case .notCached(let source):
            "\(source) is not in the cache, and the registry may not be reached (offline)"
        case .tampered(let path):
            "the cached binary \(path) no longer matches its signed hash: it was removed, not run, and cannot be fetched again offline"
        case .cannotStart(let path, let code):
            "cannot start \(path): \(Errno.message(code))"
        case .notAnArchiveFile(let path, let kind):
            "\(path) is \(kind), not an archive file"
        case .changedWhileRead(let path):
            "\(path) changed while it was read"
        case .damagedRecord(let path, let reason):
            "the cache record \(path) was damaged (\(reason)): it was removed, and cannot be rebuilt offline"
        case .notARegularFile(let path, let kind):
            "\(path) is \(kind) where the cache keeps a file, and cannot be removed"
        }
    }
}

/// Why a cache folder is not safe to run binaries from.
public enum UnsafeFolderProblem: Sendable, Equatable, CustomStringConvertible {
    /// Something else is at the folder's path.
    case notAFolder
    /// It belongs to another user.
    case ownedByAnotherUser(owner: UInt32, thisUser: UInt32)
    /// Its group or others may write it.
    case writableByOthers(mode: UInt32)

    public var description: String {
        switch self {
        case .notAFolder: "is not a folder"
        case .ownedByAnotherUser(let owner, let thisUser): "belongs to user \(owner), not to this user (\(thisUser))"
        case .writableByOthers(let mode): "is writable by its group or by others (mode \(String(mode & 0o777, radix: 8)))"
        }
    }
}
