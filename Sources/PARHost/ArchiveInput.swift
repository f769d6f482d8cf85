import Foundation
import PARBytes


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
        let opened: Int32
        let status: FileStatus
        do {
            opened = try System.open(path, [.closeOnExec, .nonBlocking])
        } catch {
            throw .file(error)
        }
        do {
            status = try System.status(of: opened, path: path)
        } catch {
            System.close(opened)
            throw .file(error)
        }
        System.setBlocking(opened)
        if status.isRegularFile {
            descriptor = opened
            identity = Self.identity(of: status)
        } else if status.isPipe {
            defer { System.close(opened) }
            // A named pipe opened before its writer would read as empty: wait for the writer.
            System.waitUntilReadable(opened)
            (descriptor, knownDigest) = try Self.spool(FileSource(borrowing: opened, path: path), into: spoolFolder, for: path)
            identity = nil
        } else {
            System.close(opened)
            throw .notAnArchiveFile(path: path, kind: status.kind ?? "a special file")
        }
    }

    deinit {
        System.close(descriptor)
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
            throw .file(error as? FileError ?? FileError(operation: "read", path: path, code: Errno.inputOutput))
        }
        knownDigest = digest
        return digest
    }

    /// The absolute path, the key of a regular file's digest record.
    var absolutePath: String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }

    static func identity(of status: FileStatus) -> String {
        [
            String(status.device), String(status.inode), String(status.size), String(status.modified.seconds),
            String(status.modified.nanoseconds), String(status.changed.seconds), String(status.changed.nanoseconds),
        ].joined(separator: " ")
    }

    /// Copies a stream into an unlinked file in `folder`, hashing it; returns the file, at
    /// its start, and the digest.
    private static func spool(
        _ source: FileSource, into folder: String, for path: String
    ) throws(ProviderCacheError) -> (Int32, SHA256Hash) {
        // Unlinked at once: nothing is left behind whatever ends this process.
        let file: Int32
        do {
            file = try System.makeTemporaryFile(prefix: folder + "/spool-\(System.processID)-", unlinked: true).descriptor
        } catch {
            throw .file(FileError(operation: "create", path: folder + "/spool", code: error.code))
        }
        let read = DigestingSource(source)
        do {
            try read.forEachChunk { chunk in
                let failure = System.writeAll(file, chunk)
                guard failure == 0 else { throw FileError(operation: "write", path: folder + "/spool", code: failure) }
            }
        } catch {
            System.close(file)
            throw .file(error as? FileError ?? FileError(operation: "read", path: path, code: Errno.inputOutput))
        }
        return (file, read.digest)
    }
}
