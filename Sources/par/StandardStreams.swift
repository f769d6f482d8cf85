import PARBytes

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
        System.reopenClosedStandardDescriptors()
        System.ignoreFileSizeSignal()
    }

    /// Writes a command's result to standard output, all of it, or throws.
    ///
    /// - Throws: ``FileError`` naming standard output and the system's reason.
    static func writeResult(_ text: String) throws(FileError) {
        guard let failure = writeAll(text, to: System.standardOutput) else { return }
        throw FileError(operation: "write the result to", path: "standard output", code: failure)
    }

    /// Writes a message to standard error as well as it can: there is nowhere to report a
    /// failure to write one.
    static func writeMessage(_ text: String) {
        _ = writeAll(text, to: System.standardError)
    }

    /// Writes all of `text`; the error number when that failed.
    private static func writeAll(_ text: String, to descriptor: Int32) -> Int32? {
        let failure = Array(text.utf8).withUnsafeBytes { System.writeAll(descriptor, $0) }
        return failure == 0 ? nil : failure
    }
}
