/// Why JSON text could not be read: what is wrong and where, to put after the name of the
/// file or field that held it.
public enum JSONError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The text is not JSON (RFC 8259): a reason, and the byte offset where it went wrong.
    case invalid(reason: String, offset: Int)
    /// Arrays and objects nest deeper than ``JSONValue/maximumDepth``.
    case nestedTooDeeply(limit: Int)

    public var description: String {
        switch self {
        case .invalid(let reason, let offset): "\(reason) at byte \(offset)"
        case .nestedTooDeeply(let limit): "arrays and objects nest more than \(limit) levels deep"
        }
    }
}
