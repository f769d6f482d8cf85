/// What can go wrong reading or writing gzip.
public enum GzipError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The compressed stream is damaged: a bad header, bad deflate data, or a CRC/length mismatch.
    case corrupt(String)
    /// The stream ends before its gzip trailer.
    case truncated
    /// Bytes that are not another gzip member follow the compressed stream.
    case trailingData
    /// zlib could not get memory, or failed in a way that is not the input's fault.
    case zlibFailure(code: Int32, message: String)

    /// The reason either inflate backend gives for damaged deflate data.
    static let invalidDeflate = "invalid deflate data"

    public var description: String {
        switch self {
        case .corrupt(let reason):
            "the gzip data is damaged (\(reason)): the archive was corrupted in transfer or storage"
        case .truncated:
            "the gzip data ends early: the file is truncated (an interrupted download or copy?)"
        case .trailingData:
            "data that is not gzip follows the compressed archive: the file has been appended to or is damaged"
        case .zlibFailure(let code, let message):
            "zlib failed (code \(code): \(message))"
        }
    }
}
