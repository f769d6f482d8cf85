import PARBytes

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Opening files under the cache: only regular files, never waiting. A named pipe, device,
/// socket, folder or symbolic link where a cache file belongs is removed with one event (or,
/// when it cannot be removed, refused), so nobody can wedge or redirect the cache by
/// putting one there.
enum CacheFiles {
    /// The outcome of opening a cache file.
    enum Opened {
        /// A regular file, open for reading (close-on-exec).
        case file(Int32)
        /// Nothing there (or something that was not a regular file, now removed).
        case absent
    }

    /// Opens `path` for reading if it is a regular file.
    ///
    /// - Parameters:
    ///   - path: The cache file.
    ///   - create: Create it (empty, 0600) when missing: for lock files.
    ///   - events: Told when something else was there and was removed.
    /// - Throws: ``ProviderCacheError/notARegularFile(path:kind:)`` when something that is not
    ///   a regular file is there and cannot be removed; ``ProviderCacheError/file(_:)`` for
    ///   other failures than a missing file.
    static func open(_ path: String, create: Bool = false, events: CacheEvents?) throws(ProviderCacheError) -> Opened {
        let flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | (create ? O_CREAT : 0)
        let descriptor = retryingOnInterrupt { openFile(path, flags, 0o600) }
        if descriptor < 0 {
            let code = errno
            // With O_CREAT, ENOENT means the folder is gone: an error, not an absent file.
            if code == ENOENT, !create { return .absent }
            // O_NOFOLLOW on a symbolic link: ELOOP (EMLINK/EFTYPE on some systems).
            if code == ELOOP || code == EMLINK || code == ENXIO || code == EOPNOTSUPP || code == ENODEV || code == EISDIR {
                try removeStranger(path, kind: kind(at: path) ?? "a special file", events: events)
                return create ? try open(path, create: create, events: events) : .absent
            }
            throw .file(FileError(operation: "open", path: path, code: code))
        }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            let code = errno
            close(descriptor)
            throw .file(FileError(operation: "open", path: path, code: code))
        }
        if let kind = fileKind(mode: status.st_mode) {
            close(descriptor)
            try removeStranger(path, kind: kind, events: events)
            return create ? try open(path, create: create, events: events) : .absent
        }
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) & ~O_NONBLOCK)
        return .file(descriptor)
    }

    /// The whole of a small cache file (claims, records), bounded; `nil` when it is absent.
    ///
    /// - Throws: ``ProviderCacheError`` when it cannot be read or is larger than `limit`.
    static func readSmall(_ path: String, limit: Int, events: CacheEvents?) throws(ProviderCacheError) -> [UInt8]? {
        guard case .file(let descriptor) = try open(path, events: events) else { return nil }
        defer { close(descriptor) }
        let bytes: [UInt8]?
        do {
            bytes = try FileSource(borrowing: descriptor, path: path).readAll(limit: limit)
        } catch let error as FileError {
            throw .file(error)
        } catch {
            throw .file(FileError(operation: "read", path: path, code: EIO))
        }
        guard let bytes else { throw .file(FileError(operation: "read", path: path, code: EFBIG)) }
        return bytes
    }

    /// Writes a small cache file atomically (0600).
    static func writeSmall(_ path: String, _ bytes: [UInt8]) throws(ProviderCacheError) {
        do {
            let sink = try AtomicFileSink(destination: path, mode: 0o600)
            try sink.write(bytes)
            try sink.commit()
        } catch let error as FileError {
            throw .file(error)
        } catch {
            throw .file(FileError(operation: "write", path: path, code: EIO))
        }
    }

    /// What kind of file is at `path`, links not followed; `nil` for a regular file or nothing.
    static func kind(at path: String) -> String? {
        var status = stat()
        guard lstat(path, &status) == 0 else { return nil }
        return fileKind(mode: status.st_mode)
    }

    /// Removes what is not a regular file where a cache file belongs, or refuses it.
    private static func removeStranger(_ path: String, kind: String, events: CacheEvents?) throws(ProviderCacheError) {
        guard unlink(path) == 0 || (errno == EISDIR || errno == EPERM) && rmdir(path) == 0 || errno == ENOENT else {
            throw .notARegularFile(path: path, kind: kind)
        }
        events?(.removedStranger(path: path, kind: kind))
    }
}

/// The C library's `open`, whose name the cache's own `open` hides.
private func openFile(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 {
    open(path, flags, mode)
}

/// A `flock` on a lock file under the cache, created when missing, held until this goes
/// away. A lock file that was removed while this waited (prune removes unused ones) is
/// locked again by name, until what is locked is what the path names.
final class CacheLock: Sendable {
    private let descriptor: Int32

    /// Locks `path`.
    ///
    /// - Parameters:
    ///   - path: The lock file.
    ///   - shared: A shared lock, else an exclusive one.
    ///   - wait: Wait for other holders; else give up at once.
    ///   - events: Told when a stranger was removed from the lock's place.
    /// - Returns: The lock; `nil` when `wait` is false and someone else holds it, or when the
    ///   cache is on a read-only file system and the file does not exist (nothing can change
    ///   such a cache, so there is nothing to exclude).
    static func acquire(_ path: String, shared: Bool, wait: Bool = true, events: CacheEvents?) throws(ProviderCacheError) -> CacheLock? {
        while true {
            let descriptor: Int32
            do throws(ProviderCacheError) {
                guard case .file(let opened) = try CacheFiles.open(path, create: true, events: events) else {
                    throw .file(FileError(operation: "create", path: path, code: ENOENT))
                }
                descriptor = opened
            } catch .file(let error) where error.code == EROFS {
                return nil
            }
            let operation = (shared ? LOCK_SH : LOCK_EX) | (wait ? 0 : LOCK_NB)
            guard retryingOnInterrupt({ flock(descriptor, operation) }) == 0 else {
                let code = errno
                close(descriptor)
                if code == EWOULDBLOCK, !wait { return nil }
                throw .file(FileError(operation: "lock", path: path, code: code))
            }
            var held = stat()
            var named = stat()
            if fstat(descriptor, &held) == 0, lstat(path, &named) == 0, held.st_dev == named.st_dev, held.st_ino == named.st_ino {
                return CacheLock(descriptor: descriptor)
            }
            close(descriptor)
        }
    }

    private init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
    }
}
