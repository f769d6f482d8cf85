import PARBytes

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
        let options: OpenOptions = [.closeOnExec, .noFollow, .nonBlocking, .noControllingTerminal]
        let descriptor: Int32
        do {
            descriptor = try System.open(path, create ? options.union(.create) : options)
        } catch {
            // With O_CREAT, ENOENT means the folder is gone: an error, not an absent file.
            if error.code == Errno.notFound, !create { return .absent }
            // O_NOFOLLOW on a symbolic link, or a device, socket or folder.
            guard Errno.notARegularFile.contains(error.code) else { throw .file(error) }
            try removeStranger(path, kind: kind(at: path) ?? "a special file", events: events)
            return create ? try open(path, create: create, events: events) : .absent
        }
        let status: FileStatus
        do {
            status = try System.status(of: descriptor, path: path)
        } catch {
            System.close(descriptor)
            throw .file(error)
        }
        if let kind = status.kind {
            System.close(descriptor)
            try removeStranger(path, kind: kind, events: events)
            return create ? try open(path, create: create, events: events) : .absent
        }
        System.setBlocking(descriptor)
        return .file(descriptor)
    }

    /// The whole of a small cache file (claims, records), bounded; `nil` when it is absent.
    ///
    /// - Throws: ``ProviderCacheError`` when it cannot be read or is larger than `limit`.
    static func readSmall(_ path: String, limit: Int, events: CacheEvents?) throws(ProviderCacheError) -> [UInt8]? {
        guard case .file(let descriptor) = try open(path, events: events) else { return nil }
        defer { System.close(descriptor) }
        let bytes: [UInt8]?
        do {
            bytes = try FileSource(borrowing: descriptor, path: path).readAll(limit: limit)
        } catch let error as FileError {
            throw .file(error)
        } catch {
            throw .file(FileError(operation: "read", path: path, code: Errno.inputOutput))
        }
        guard let bytes else { throw .file(FileError(operation: "read", path: path, code: Errno.fileTooLarge)) }
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
            throw .file(FileError(operation: "write", path: path, code: Errno.inputOutput))
        }
    }

    /// What kind of file is at `path`, links not followed; `nil` for a regular file or nothing.
    static func kind(at path: String) -> String? {
        (try? System.status(at: path, followingLinks: false))?.kind
    }

    /// Removes what is not a regular file where a cache file belongs, or refuses it.
    private static func removeStranger(_ path: String, kind: String, events: CacheEvents?) throws(ProviderCacheError) {
        var removed = System.unlink(path)
        if !removed {
            let code = Errno.current
            removed = (code == Errno.isADirectory || code == Errno.notPermitted) && System.removeFolder(path) || code == Errno.notFound
        }
        guard removed else {
            throw .notARegularFile(path: path, kind: kind)
        }
        events?(.removedStranger(path: path, kind: kind))
    }
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
                    throw .file(FileError(operation: "create", path: path, code: Errno.notFound))
                }
                descriptor = opened
            } catch .file(let error) where error.code == Errno.readOnlyFileSystem {
                return nil
            }
            do {
                guard try System.lock(descriptor, path: path, shared: shared, wait: wait) else {
                    System.close(descriptor)
                    return nil
                }
            } catch {
                System.close(descriptor)
                throw .file(error)
            }
            if let held = try? System.status(of: descriptor, path: path),
                let named = try? System.status(at: path, followingLinks: false), held.isSameFile(as: named)
            {
                return CacheLock(descriptor: descriptor)
            }
            System.close(descriptor)
        }
    }

    private init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    deinit {
        System.close(descriptor)
    }
}
