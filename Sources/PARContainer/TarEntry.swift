/// One entry of a tar stream, as its (extended) header describes it.
public struct TarEntry: Equatable, Sendable {
    /// What kind of file the entry is.
    public enum Kind: Equatable, Sendable, CustomStringConvertible {
        /// A regular file (type flag `0`, NUL or `7`).
        case regularFile
        /// A hard link (`1`).
        case hardLink
        /// A symbolic link (`2`).
        case symbolicLink
        /// A character device (`3`).
        case characterDevice
        /// A block device (`4`).
        case blockDevice
        /// A directory (`5`, or an old-style name ending in `/`).
        case directory
        /// A named pipe (`6`).
        case fifo
        /// Any other type flag, such as GNU sparse files (`S`) or volume labels (`V`).
        case other(UInt8)

        public var description: String {
            switch self {
            case .regularFile: "regular file"
            case .hardLink: "hard link"
            case .symbolicLink: "symbolic link"
            case .characterDevice: "character device"
            case .blockDevice: "block device"
            case .directory: "directory"
            case .fifo: "named pipe"
            case .other(let flag): "entry of type '\(Character(Unicode.Scalar(flag)))'"
            }
        }
    }

    /// The entry's path, as stored (pax `path` and GNU long names applied).
    public let name: String
    /// The kind of file.
    public let kind: Kind
    /// The size of the entry's content in bytes.
    public let size: UInt64
    /// The permission bits from the header.
    public let mode: UInt32
    /// The link target of a link entry; empty otherwise.
    public let linkName: String
    /// Where the entry's (first) header starts in the tar stream.
    public let headerOffset: UInt64
}
