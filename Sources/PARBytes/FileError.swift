/// A failed file operation, with the path and the system's reason.
public struct FileError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What was being done: "open", "read", "write", "rename", "replace", ...
    public let operation: String
    /// The file's path: the destination, for a file written under a temporary name.
    public let path: String
    /// The system error number (`errno`).
    public let code: Int32
    /// What the file is when that is the problem, such as `a character device`: par only
    /// reads archives from, and replaces, regular files.
    public let kind: String?

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - operation: What was being done.
    ///   - path: The file's path.
    ///   - code: The system error number.
    ///   - kind: What the file is, when its kind is the problem.
    public init(operation: String, path: String, code: Int32, kind: String? = nil) {
        self.operation = operation
        self.path = path
        self.code = code
        self.kind = kind
    }

    /// True when the file or a folder on its path does not exist.
    public var isNotFound: Bool { code == Errno.notFound }

    public var description: String {
        if let kind {
            return "cannot \(operation) \(path): it is \(kind), not a regular file; give the path of a regular file"
        }
        let reason = Errno.message(code)
        switch code {
        case Errno.notFound where operation == "open" || operation == "create":
            return "cannot \(operation) \(path): no such file or directory; check the path"
        case Errno.permissionDenied, Errno.notPermitted:
            return "cannot \(operation) \(path): permission denied; check the file's permissions"
        case Errno.isADirectory:
            return "cannot \(operation) \(path): it is a directory, not a file"
        case Errno.noSpace, Errno.quotaExceeded:
            return "cannot \(operation) \(path): the disk is full (\(reason)); free some space or choose another place"
        case Errno.fileTooLarge:
            return "cannot \(operation) \(path): the file would be larger than this process may write (ulimit -f); raise the limit"
        default:
            return "cannot \(operation) \(path): \(reason)"
        }
    }
}
