/// Why a program ``ChildProcess`` runs did not run to its end.
package enum ChildProcessError: Error, Equatable, Sendable, CustomStringConvertible {
    /// It could not be started (the error number from `posix_spawn` or `pipe`).
    case cannotStart(executable: String, code: Int32)
    /// It ran longer than its limit, and was killed.
    case timedOut(executable: String, limit: Duration)
    /// It wrote more than its limit to standard output, and was killed.
    case outputTooLarge(executable: String, limit: Int)
    /// Waiting for it failed (`poll` or `waitpid`, with the error number); it was killed.
    case waitFailed(executable: String, code: Int32)

    package var description: String {
        switch self {
        case .cannotStart(let executable, let code):
            "cannot start \(executable): \(Errno.message(code))"
        case .timedOut(let executable, let limit):
            "\(executable) ran longer than \(limit) and was stopped"
        case .outputTooLarge(let executable, let limit):
            "\(executable) wrote more than \(limit) bytes and was stopped"
        case .waitFailed(let executable, let code):
            "could not wait for \(executable): \(Errno.message(code))"
        }
    }
}
