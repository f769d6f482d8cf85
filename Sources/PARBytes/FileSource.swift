#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A source reading a file from its start, through the system's `read`.
public final class FileSource: ByteSource {
    /// The path the file was opened at.
    public let path: String
    let descriptor: Int32
    private let ownsDescriptor: Bool

    /// Opens a file for reading.
    ///
    /// A named pipe is opened without waiting for a writer, so opening never hangs; reading
    /// it then ends at once when nobody writes.
    ///
    /// - Parameter path: The file's path.
    /// - Throws: ``FileError`` when the file cannot be opened or is a directory.
    public init(path: String) throws(FileError) {
        let descriptor = retryingOnInterrupt { open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK) }
        guard descriptor >= 0 else { throw FileError(operation: "open", path: path, code: errno) }
        var status = stat()
        if fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR {
            close(descriptor)
            throw FileError(operation: "open", path: path, code: EISDIR)
        }
        // Reads block as usual; only the open itself had to not wait.
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) & ~O_NONBLOCK)
        self.path = path
        self.descriptor = descriptor
        self.ownsDescriptor = true
    }

    /// Where the next positional read starts, for a source with an offset of its own.
    private var position: UInt64?

    /// A source over a descriptor that someone else keeps open (and closes).
    ///
    /// - Parameters:
    ///   - descriptor: The open descriptor.
    ///   - path: Its name, for messages.
    ///   - fromStart: Read a regular file from its start with `pread`, at an offset of this
    ///     source's own: other sources over the same descriptor (one still read by a thread
    ///     that has not noticed it was abandoned, say) do not move it.
    package init(borrowing descriptor: Int32, path: String, fromStart: Bool = false) {
        self.path = path
        self.descriptor = descriptor
        self.ownsDescriptor = false
        var status = stat()
        if fromStart, fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG { position = 0 }
    }

    deinit {
        if ownsDescriptor { close(descriptor) }
    }

    /// The file's size in bytes, as the system reports it now.
    public var size: UInt64? {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { return nil }
        return UInt64(status.st_size)
    }

    /// The file's size and modification and change times now, to tell whether it changed
    /// while it was read; `nil` when the system cannot say.
    package var stamp: FileStamp? {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { return nil }
        return FileStamp(
            size: UInt64(status.st_size), modified: status.st_mtim.tv_sec * 1_000_000_000 + status.st_mtim.tv_nsec,
            changed: status.st_ctim.tv_sec * 1_000_000_000 + status.st_ctim.tv_nsec)
    }

    /// Moves the read position to `offset` bytes from the start.
    package func seek(to offset: UInt64) throws(FileError) {
        if position != nil {
            position = offset
            return
        }
        guard let position = off_t(exactly: offset), lseek(descriptor, position, SEEK_SET) >= 0 else {
            throw FileError(operation: "seek", path: path, code: errno)
        }
    }

    /// Whether two paths name the same existing file (device and inode), links followed.
    package static func isSameFile(_ first: String, _ second: String) -> Bool {
        var a = stat()
        var b = stat()
        guard stat(first, &a) == 0, stat(second, &b) == 0 else { return false }
        return a.st_dev == b.st_dev && a.st_ino == b.st_ino
    }

    /// What kind of special file this is, such as `a named pipe`; `nil` for a regular file.
    package var specialFileKind: String? {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { return "an unreadable file" }
        return fileKind(mode: UInt32(status.st_mode))
    }

    /// Whether this is a stream that ends on its own: a regular file or a pipe, not a device
    /// (`/dev/zero` never ends) or a socket.
    package var isBoundedStream: Bool {
        specialFileKind == nil || specialFileKind == "a pipe"
    }

    /// Who owns the file and its permission bits.
    package func ownership() throws(FileError) -> FileOwnership {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw FileError(operation: "stat", path: path, code: errno) }
        return FileOwnership(
            mode: UInt32(status.st_mode & 0o7777), owner: UInt32(status.st_uid), group: UInt32(status.st_gid))
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        if let offset = position {
            let count = retryingOnInterrupt { pread(descriptor, base, buffer.count, off_t(offset)) }
            guard count >= 0 else { throw FileError(operation: "read", path: path, code: errno) }
            position = offset + UInt64(count)
            return count
        }
        let count = retryingOnInterrupt { systemRead(descriptor, base, buffer.count) }
        guard count >= 0 else { throw FileError(operation: "read", path: path, code: errno) }
        return count
    }
}

/// A file's size and times at one moment. Any write changes the change time, which no
/// program can set back, though only to the kernel's clock tick (a few milliseconds).
package struct FileStamp: Equatable, Sendable {
    /// The size in bytes.
    package let size: UInt64
    /// The modification time, in nanoseconds since 1970.
    package let modified: Int
    /// The status change time, in nanoseconds since 1970.
    package let changed: Int

    /// Whether the file changed within `seconds` before `now` (seconds since 1970): a write
    /// that soon after might share its change time, so a change could go unseen.
    package func changedRecently(within seconds: Int, of now: Int) -> Bool {
        changed / 1_000_000_000 >= now - seconds
    }
}
