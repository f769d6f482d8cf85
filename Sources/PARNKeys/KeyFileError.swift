import PARBytes

/// What can be wrong with a key file or the key directory.
public enum KeyFileError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file cannot be read.
    case unreadable(path: String)
    /// The file is larger than any key file (a seed is 58 characters).
    case tooLarge(path: String, limit: Int)
    /// The file does not hold a valid seed of the required role.
    case invalidKey(path: String, NKeyError)
    /// A key file of that name already exists.
    case alreadyExists(String)
    /// The folder cannot be created.
    case unwritable(path: String, reason: String)
    /// Writing the key file failed.
    case file(FileError)
    /// The key directory's path names something that is not a folder.
    case notAFolder(String)
    /// The key directory exists but cannot be listed.
    case unreadableFolder(String)
    /// The key name holds something other than letters, digits, `-` and `_`.
    case invalidName(String)

    public var description: String {
        switch self {
        case .unreadable(let path):
            "cannot read the key file \(path): check that it exists and is readable"
        case .tooLarge(let path, let limit):
            "\(path) is larger than \(limit) bytes, far more than a key file (one 58-character seed): it is not a key file"
        case .invalidKey(let path, let error):
            "the key in \(path) is not usable: \(error)"
        case .alreadyExists(let path):
            "\(path) already exists: choose another name; the existing key stays as it is"
        case .unwritable(let path, let reason):
            "cannot create the key directory \(path): \(reason)"
        case .file(let error):
            error.description
        case .notAFolder(let path):
            "the key directory \(path) is not a folder"
        case .unreadableFolder(let path):
            "cannot list the key directory \(path): check its permissions"
        case .invalidName(let name):
            "'\(name)' is not a key name: use letters, digits, '-' or '_'"
        }
    }
}
