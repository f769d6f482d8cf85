#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed file operation, with the path and the system's reason.
public struct FileError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What was being done: "open", "read", "write", "rename", ...
    public let operation: String
    /// The file's path.
    public let path: String
    /// The system error number (`errno`).
    public let code: Int32

    /// Creates an error.
    public init(operation: String, path: String, code: Int32) {
        self.operation = operation
        self.path = path
        self.code = code
    }

    /// True when the file or a folder on its path does not exist.
    public var isNotFound: Bool { code == ENOENT }

    public var description: String {
        let reason = String(cString: strerror(code))
        switch code {
        case ENOENT where operation == "open" || operation == "create":
            return "cannot \(operation) \(path): no such file or directory; check the path"
        case EACCES, EPERM:
            return "cannot \(operation) \(path): permission denied; check the file's permissions"
        case EISDIR:
            return "cannot \(operation) \(path): it is a directory, not a file"
        default:
            return "cannot \(operation) \(path): \(reason)"
        }
    }
}
