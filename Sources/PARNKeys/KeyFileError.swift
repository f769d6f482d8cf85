/// What can be wrong with a key file.
public enum KeyFileError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file cannot be read.
    case unreadable(path: String)
    /// The file does not hold a valid seed of the required role.
    case invalidKey(path: String, NKeyError)
    /// A key file of that name already exists.
    case alreadyExists(String)
    /// The folder or file cannot be written.
    case unwritable(path: String, reason: String)
    /// The key name is empty or contains `/`.
    case invalidName(String)

    public var description: String {
        switch self {
        case .unreadable(let path):
            "cannot read the key file \(path): check that it exists and is readable"
        case .invalidKey(let path, let error):
            "the key in \(path) is not usable: \(error)"
        case .alreadyExists(let path):
            "\(path) already exists: choose another name; the existing key stays as it is"
        case .unwritable(let path, let reason):
            "cannot write \(path) (\(reason)): check the folder's permissions"
        case .invalidName(let name):
            "'\(name)' is not a key name: use letters, digits, '-' or '_'"
        }
    }
}
