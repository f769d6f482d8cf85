import Foundation
import PARBytes

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An archive file source, opened once: everything the cache learns of it (its digest, its
/// claims, its binary) is read from this one descriptor, never from the path again, so a
/// file replaced at the path meanwhile changes nothing. A pipe is spooled once into an
/// unlinked file in the cache's own folder, hashed as it is copied.
final class ArchiveInput {
    /// The path given, for messages.
    let path: String
    /// The open file: the regular file itself, or the spool of a pipe.
    private let descriptor: Int32
    /// The archive's SHA-256, when known without reading it again (a pipe's, hashed while
    /// spooled).
    private(set) var knownDigest: SHA256Hash?
    /// Device, inode, size and times of a regular file: the key of its digest record.
    let identity: String?

    /// Opens `path`: a regular file as it is, a pipe spooled into `spoolFolder`.
    ///
    /// - Throws: ``ProviderCacheError/notAnArchiveFile(path:kind:)`` for a device, socket or
    ///   folder (`/dev/zero` would never end); ``ProviderCacheError/file(_:)`` otherwise.
    init(opening path: String, spoolFolder: String) throws(ProviderCacheError) {
        self.path = path
        let opened = retryingOnInterrupt { open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK) }
        guard opened >= 0 else { throw .file(FileError(operation: "open", path: path, code: errno)) }
        var status = stat()
        guard fstat(opened, &status) == 0 else {
            let code = errno
            close(opened)
            throw .file(FileError(operation: "open", path: path, code: code))
        }
        _ = fcntl(opened, F_SETFL, fcntl(opened, F_GETFL) & ~O_NONBLOCK)
        switch status.st_mode & S_IFMT {
        case S_IFREG:
            descriptor = opened
            identity = Self.identity(of: status)
        case S_IFIFO:
            defer { close(opened) }
            (descriptor, knownDigest) = try Self.spool(FileSource(borrowing: opened, path: path), into: spoolFolder, for: path)
            identity = nil
        default:
            close(opened)
            throw .notAnArchiveFile(path: path, kind: fileKind(mode: status.st_mode) ?? "a special file")
        }
    }

    deinit {
        close(descriptor)
    }

    /// The archive's bytes from the start, at an offset of the source's own.
    func contents() -> FileSource {
        FileSource(borrowing: descriptor, path: path, fromStart: true)
    }

    /// The archive's SHA-256, read from the descriptor.
    func digest() throws(ProviderCacheError) -> SHA256Hash {
        if let knownDigest { return knownDigest }
        let digest: SHA256Hash
        do {
            digest = try DigestingSource.digest(of: contents()).hash
        } catch {
            throw .file(error as? FileError ?? FileError(operation: "read", path: path, code: EIO))
        }
        knownDigest = digest
        return digest
    }

    /// The absolute path, the key of a regular file's digest record.
    var absolutePath: String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }

    static func identity(of status: stat) -> String {
        #if canImport(Darwin)
        let (modified, changed) = (status.st_mtimespec, status.st_ctimespec)
        #else
        let (modified, changed) = (status.st_mtim, status.st_ctim)
        #endif
        return [
            String(status.st_dev), String(status.st_ino), String(status.st_size), String(modified.tv_sec),
            String(modified.tv_nsec), String(changed.tv_sec), String(changed.tv_nsec),
        ].joined(separator: " ")
    }

    /// Copies a stream into an unlinked file in `folder`, hashing it; returns the file, at
    /// its start, and the digest.
    private static func spool(
        _ source: FileSource, into folder: String, for path: String
    ) throws(ProviderCacheError) -> (Int32, SHA256Hash) {
        var template = Array((folder + "/spool-\(getpid())-XXXXXX").utf8CString)
        let file = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard file >= 0 else { throw .file(FileError(operation: "create", path: folder + "/spool", code: errno)) }
        // Gone from the folder at once: nothing is left behind whatever ends this process.
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        _ = fcntl(file, F_SETFD, FD_CLOEXEC)
        let read = DigestingSource(source)
        do {
            try read.forEachChunk { chunk in
                var offset = 0
                while offset < chunk.count {
                    let count = retryingOnInterrupt { write(file, chunk.baseAddress! + offset, chunk.count - offset) }
                    guard count > 0 else { throw FileError(operation: "write", path: folder + "/spool", code: count < 0 ? errno : EIO) }
                    offset += count
                }
            }
        } catch {
            close(file)
            throw .file(error as? FileError ?? FileError(operation: "read", path: path, code: EIO))
        }
        return (file, read.digest)
    }
}
