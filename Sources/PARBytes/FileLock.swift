#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive advisory lock (`flock`) on an existing file, for read-modify-replace updates:
/// held from reading the old content to renaming the new file into place, so updates by
/// several processes run one after another and none is lost.
///
/// The lock is on the file itself, so no lock file is ever left behind. Because an update
/// replaces the file, a process that waited may wake up holding the lock of a file that is
/// no longer at the path; it then locks the new one, until what it holds is what the path
/// names. The lock is released when this object goes away (or the process ends).
package final class FileLock {
    /// The locked file's path.
    package let path: String
    private let descriptor: Int32

    /// Opens and locks the file at `path`, waiting for other holders.
    ///
    /// - Parameters:
    ///   - path: The file.
    ///   - onWait: Called once, before waiting, when another process holds the lock.
    /// - Throws: ``FileError`` when the file cannot be opened or locked.
    package init(path: String, onWait: (() -> Void)? = nil) throws(FileError) {
        var waited = false
        while true {
            let descriptor = retryingOnInterrupt { open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK) }
            guard descriptor >= 0 else { throw FileError(operation: "open", path: path, code: errno) }
            if flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
                guard errno == EWOULDBLOCK else {
                    let code = errno
                    close(descriptor)
                    throw FileError(operation: "lock", path: path, code: code)
                }
                if !waited {
                    waited = true
                    onWait?()
                }
                guard retryingOnInterrupt({ flock(descriptor, LOCK_EX) }) == 0 else {
                    let code = errno
                    close(descriptor)
                    throw FileError(operation: "lock", path: path, code: code)
                }
            }
            var held = stat()
            var current = stat()
            if fstat(descriptor, &held) == 0, stat(path, &current) == 0,
                held.st_dev == current.st_dev, held.st_ino == current.st_ino
            {
                _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) & ~O_NONBLOCK)
                self.path = path
                self.descriptor = descriptor
                return
            }
            // The file was replaced while we waited: lock what the path names now.
            close(descriptor)
        }
    }

    deinit {
        close(descriptor)
    }

    /// A source reading the locked file from its start, at an offset of its own (so two
    /// sources of one lock never move each other's); valid while the lock is held.
    ///
    /// - Throws: ``FileError`` when the file cannot seek back to its start.
    package func contents() throws(FileError) -> FileSource {
        guard lseek(descriptor, 0, SEEK_SET) == 0 else { throw FileError(operation: "seek", path: path, code: errno) }
        return FileSource(borrowing: descriptor, path: path, fromStart: true)
    }
}
