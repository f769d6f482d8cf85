import PARBytes

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// par's standard streams, written with checked system calls: a result that cannot be
/// written whole (a seed to a full disk) is an error, never a success; a message that cannot
/// be written is dropped, never a crash.
enum StandardStreams {
    /// Prepares the process's surroundings before anything else runs:
    ///
    /// - a closed descriptor 0, 1 or 2 is opened on `/dev/null`, so no file par opens later
    ///   takes its number (and gets par's output or messages written into it);
    /// - SIGXFSZ is ignored, so a write past `ulimit -f` fails with EFBIG, an ordinary error
    ///   that removes the temporary file, instead of killing par.
    static func prepare() {
        for descriptor: Int32 in 0...2 where fcntl(descriptor, F_GETFD) == -1 && errno == EBADF {
            let opened = open("/dev/null", descriptor == 0 ? O_RDONLY : O_WRONLY)
            if opened >= 0, opened != descriptor {
                dup2(opened, descriptor)
                close(opened)
            }
        }
        signal(SIGXFSZ, SIG_IGN)
    }

    /// Writes a command's result to standard output, all of it, or throws.
    ///
    /// - Throws: ``FileError`` naming standard output and the system's reason.
    static func writeResult(_ text: String) throws(FileError) {
        guard let failure = writeAll(text, to: STDOUT_FILENO) else { return }
        throw FileError(operation: "write the result to", path: "standard output", code: failure)
    }

    /// Writes a message to standard error as well as it can: there is nowhere to report a
    /// failure to write one.
    static func writeMessage(_ text: String) {
        _ = writeAll(text, to: STDERR_FILENO)
    }

    /// Writes all of `text`; the error number when that failed.
    private static func writeAll(_ text: String, to descriptor: Int32) -> Int32? {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { buffer -> Int32? in
            guard let base = buffer.baseAddress else { return nil }
            var offset = 0
            while offset < buffer.count {
                let count = write(descriptor, base + offset, buffer.count - offset)
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { return count < 0 ? errno : EIO }
                offset += count
            }
            return nil
        }
    }
}
