#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A sink writing to an open file descriptor, through the system's `write`.
package class FileSink: ByteSink {
    /// The path the file was opened at.
    package let path: String
    let descriptor: Int32
    private let ownsDescriptor: Bool

    /// Creates or truncates a file for writing.
    ///
    /// - Parameters:
    ///   - path: The file's path.
    ///   - mode: The permissions of a new file, before the process's umask.
    /// - Throws: ``FileError`` when the file cannot be created.
    package convenience init(path: String, mode: UInt32 = 0o644) throws(FileError) {
        let descriptor = retryingOnInterrupt { open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode_t(mode)) }
        guard descriptor >= 0 else { throw FileError(operation: "create", path: path, code: errno) }
        self.init(descriptor: descriptor, path: path, ownsDescriptor: true)
    }

    init(descriptor: Int32, path: String, ownsDescriptor: Bool) {
        self.descriptor = descriptor
        self.path = path
        self.ownsDescriptor = ownsDescriptor
    }

    deinit {
        if ownsDescriptor { close(descriptor) }
    }

    package func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard var base = bytes.baseAddress else { return }
        var remaining = bytes.count
        while remaining > 0 {
            let count = retryingOnInterrupt { systemWrite(descriptor, base, remaining) }
            guard count > 0 else { throw FileError(operation: "write", path: path, code: count < 0 ? errno : EIO) }
            remaining -= count
            base += count
        }
    }
}
