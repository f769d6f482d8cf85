#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Calls a system function until it does not fail with `EINTR`.
@inline(__always)
func retryingOnInterrupt<Result: BinaryInteger>(_ call: () -> Result) -> Result {
    while true {
        let result = call()
        if result >= 0 || errno != EINTR { return result }
    }
}

/// A source reading a file from its start, through the system's `read`.
public final class FileSource: ByteSource {
    /// The path the file was opened at.
    public let path: String
    let descriptor: Int32

    /// Opens a regular file for reading.
    ///
    /// - Parameter path: The file's path.
    /// - Throws: ``FileError`` when the file cannot be opened or is a directory.
    public init(path: String) throws(FileError) {
        let descriptor = retryingOnInterrupt { open(path, O_RDONLY | O_CLOEXEC) }
        guard descriptor >= 0 else { throw FileError(operation: "open", path: path, code: errno) }
        var status = stat()
        if fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR {
            close(descriptor)
            throw FileError(operation: "open", path: path, code: EISDIR)
        }
        self.path = path
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
    }

    /// The file's size in bytes, as the system reports it now.
    public var size: UInt64? {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { return nil }
        return UInt64(status.st_size)
    }

    /// Moves the read position to `offset` bytes from the start.
    ///
    /// - Throws: ``FileError`` when the file cannot seek.
    public func seek(to offset: UInt64) throws(FileError) {
        guard lseek(descriptor, off_t(offset), SEEK_SET) >= 0 else {
            throw FileError(operation: "seek", path: path, code: errno)
        }
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        let count = retryingOnInterrupt { Glibc_read(descriptor, base, buffer.count) }
        guard count >= 0 else { throw FileError(operation: "read", path: path, code: errno) }
        return count
    }
}

/// A sink writing to an open file descriptor, through the system's `write`.
public class FileSink: ByteSink {
    /// The path the file was opened at.
    public let path: String
    let descriptor: Int32
    private let ownsDescriptor: Bool

    /// Creates or truncates a file for writing.
    ///
    /// - Parameters:
    ///   - path: The file's path.
    ///   - mode: The permissions of a new file, before the process's umask.
    /// - Throws: ``FileError`` when the file cannot be created.
    public convenience init(path: String, mode: UInt32 = 0o644) throws(FileError) {
        let descriptor = retryingOnInterrupt { open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode_t(mode)) }
        guard descriptor >= 0 else { throw FileError(operation: "create", path: path, code: errno) }
        self.init(descriptor: descriptor, path: path, ownsDescriptor: true)
    }

    init(descriptor: Int32, path: String, ownsDescriptor: Bool) {
        self.descriptor = descriptor
        self.path = path
        self.ownsDescriptor = ownsDescriptor
    }

    /// A sink over standard output, which it does not close.
    public static func standardOutput() -> FileSink {
        FileSink(descriptor: STDOUT_FILENO, path: "standard output", ownsDescriptor: false)
    }

    deinit {
        if ownsDescriptor { close(descriptor) }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard var base = bytes.baseAddress else { return }
        var remaining = bytes.count
        while remaining > 0 {
            let count = retryingOnInterrupt { Glibc_write(descriptor, base, remaining) }
            guard count > 0 else { throw FileError(operation: "write", path: path, code: count < 0 ? errno : EIO) }
            remaining -= count
            base += count
        }
    }
}

/// A file written under a temporary name beside its destination and renamed into place
/// only on ``commit()``: readers never see a half-written file, and a failure leaves the
/// destination as it was.
public final class AtomicFileSink: FileSink {
    /// Where the file lands on ``commit()``.
    public let destination: String
    /// Whether ``commit()`` flushes the data to disk before the rename.
    public let syncsToDisk: Bool
    private var finished = false

    /// Creates the temporary file beside `destination`.
    ///
    /// - Parameters:
    ///   - destination: The final path.
    ///   - mode: The permissions of the file, before the process's umask.
    ///   - syncsToDisk: Whether ``commit()`` calls `fsync` first, so the content survives a
    ///     power loss, not just a crash. Off by default, as tar and gzip do: the rename alone
    ///     already keeps readers from ever seeing a half-written file.
    /// - Throws: ``FileError`` when the folder does not exist or cannot be written.
    public init(destination: String, mode: UInt32 = 0o644, syncsToDisk: Bool = false) throws(FileError) {
        let slash = destination.lastIndex(of: "/")
        let folder = slash.map { String(destination[...$0]) } ?? ""
        let name = slash.map { String(destination[destination.index(after: $0)...]) } ?? destination
        var generator = SystemRandomNumberGenerator()
        var descriptor: Int32 = -1
        var temporary = ""
        for _ in 0..<16 {
            let suffix = String(UInt64.random(in: 0 ... .max, using: &generator), radix: 36)
            temporary = "\(folder).\(name).tmp-\(suffix)"
            descriptor = retryingOnInterrupt {
                open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode_t(mode))
            }
            if descriptor >= 0 || errno != EEXIST { break }
        }
        guard descriptor >= 0 else { throw FileError(operation: "create", path: destination, code: errno) }
        self.destination = destination
        self.syncsToDisk = syncsToDisk
        super.init(descriptor: descriptor, path: temporary, ownsDescriptor: true)
    }

    deinit {
        if !finished { unlink(path) }
    }

    /// Moves the file to its destination, flushing it to disk first when ``syncsToDisk``.
    ///
    /// - Parameter replacingExisting: When `false`, fails with `EEXIST` rather than replace a
    ///   file already at the destination (the move is a hard link then, which cannot clobber).
    /// - Throws: ``FileError`` when the data cannot be flushed or the move fails; the
    ///   temporary file is removed then.
    public func commit(replacingExisting: Bool = true) throws(FileError) {
        guard !finished else { return }
        finished = true
        guard !syncsToDisk || fsync(descriptor) == 0 || errno == EINVAL else {
            let code = errno
            unlink(path)
            throw FileError(operation: "write", path: destination, code: code)
        }
        if !replacingExisting {
            let linked = link(path, destination) == 0
            let code = errno
            unlink(path)
            guard linked else { throw FileError(operation: "create", path: destination, code: code) }
            return
        }
        guard rename(path, destination) == 0 else {
            let code = errno
            unlink(path)
            throw FileError(operation: "rename", path: destination, code: code)
        }
    }

    /// Removes the temporary file; the destination is left untouched.
    public func discard() {
        guard !finished else { return }
        finished = true
        unlink(path)
    }
}

// Glibc's read/write collide with the protocol's method names inside the classes.
@inline(__always)
private func Glibc_read(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(descriptor, buffer, count)
}

@inline(__always)
private func Glibc_write(_ descriptor: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, buffer, count)
}

/// What identifies a file's content without reading it: device, inode, size and modification
/// time. Two equal identities mean the file was (almost certainly) not changed in between.
public struct FileIdentity: Equatable, Sendable {
    let device: UInt64
    let inode: UInt64
    /// The file's size in bytes.
    public let size: UInt64
    let modifiedSeconds: Int64
    let modifiedNanoseconds: Int64
}

extension FileSource {
    /// The identity of the open file, as the system reports it now.
    ///
    /// - Throws: ``FileError`` when the file cannot be examined.
    public func identity() throws(FileError) -> FileIdentity {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw FileError(operation: "stat", path: path, code: errno) }
        #if canImport(Darwin)
        let modified = status.st_mtimespec
        #else
        let modified = status.st_mtim
        #endif
        return FileIdentity(
            device: UInt64(status.st_dev), inode: UInt64(status.st_ino), size: UInt64(status.st_size),
            modifiedSeconds: Int64(modified.tv_sec), modifiedNanoseconds: Int64(modified.tv_nsec))
    }
}
