/// What can be wrong with a tar stream, read or written.
public enum TarError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The stream ends inside a header or an entry's content.
    case truncated
    /// A header's checksum does not match its bytes.
    case badChecksum(headerOffset: UInt64)
    /// A header's magic is neither ustar, GNU nor the old (v7) empty one.
    case unknownFormat(headerOffset: UInt64)
    /// A numeric header field (size, mode, checksum) is not a valid number.
    case invalidNumber(field: String, headerOffset: UInt64)
    /// An entry name is not valid UTF-8, or is empty.
    case invalidName(headerOffset: UInt64)
    /// A pax extended header or GNU long-name record is malformed or too large.
    case invalidExtendedHeader(String, headerOffset: UInt64)
    /// Bytes other than zeros follow the end-of-archive marker.
    case trailingData(offset: UInt64)
    /// More zero padding than any tar writer adds follows the end-of-archive marker: the
    /// stream may never end.
    case paddingTooLong(limit: Int)
    /// A name too long for the header we write (100 bytes).
    case nameTooLong(String)
    /// Content written to an entry does not match its declared size.
    case sizeMismatch(name: String, declared: UInt64, written: UInt64)
    /// The writer was used out of order (content with no open entry, or after finishing).
    case misuse(String)

    public var description: String {
        switch self {
        case .truncated:
            "the archive ends in the middle of an entry: the file is truncated (an interrupted download or copy?)"
        case .badChecksum(let offset):
            "the tar header at byte \(offset) fails its checksum: the archive is damaged"
        case .unknownFormat(let offset):
            "the data at byte \(offset) is not a tar header (neither ustar, GNU nor v7): this is not a tar archive, or it is damaged"
        case .invalidNumber(let field, let offset):
            "the tar header at byte \(offset) has an invalid \(field) field: the archive is damaged"
        case .invalidName(let offset):
            "the tar header at byte \(offset) has an empty name or one that is not UTF-8"
        case .invalidExtendedHeader(let reason, let offset):
            "the extended tar header at byte \(offset) is invalid: \(reason)"
        case .trailingData(let offset):
            "data follows the end of the tar archive at byte \(offset): the file has been appended to or is damaged"
        case .paddingTooLong(let limit):
            "more than \(limit >> 20) MiB of zeros follow the end of the tar archive, more than any tar writer pads: the input does not end where an archive would (is it a device such as /dev/zero?)"
        case .nameTooLong(let name):
            "the entry name \(name) is longer than the 100 bytes a tar header holds"
        case .sizeMismatch(let name, let declared, let written):
            "\(name) was declared with \(declared) bytes but \(written) were written: did the file change while it was read?"
        case .misuse(let reason):
            "tar writer used out of order: \(reason)"
        }
    }
}
