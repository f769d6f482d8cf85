import ProviderArchiveKit

/// Why a push or pull failed, with a message that says what to do.
public enum RegistryError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The reference cannot be parsed.
    case invalidReference(String, reason: String)
    /// The tag is `latest`, or missing, and `latest` was not allowed.
    case latestRefused(String)
    /// The registry cannot be reached.
    case unreachable(registry: String, reason: String)
    /// The registry wants credentials, or refused the ones given (HTTP 401).
    case unauthorized(registry: String, credentialsGiven: Bool)
    /// The credentials are valid but may not do this (HTTP 403).
    case forbidden(registry: String)
    /// No such repository, tag, manifest or blob (HTTP 404).
    case notFound(String)
    /// A digest differs from the one expected.
    case digestMismatch(what: String, expected: String, actual: String)
    /// The manifest holds no provider archive layer.
    case notAProviderArchive(mediaTypes: [String])
    /// The archive is not valid: refused before a push, or after a pull.
    case invalidArchive(ProviderArchiveError)
    /// The registry answered something this client does not understand.
    case unexpectedResponse(status: Int, request: String, detail: String)
    /// A local file could not be read or written.
    case file(FileError)

    public var description: String {
        switch self {
        case .invalidReference(let text, let reason):
            "'\(text)' is not a registry reference: \(reason)"
        case .latestRefused(let text):
            "\(text) uses the tag 'latest' or none: name a version tag, or pass --allow-latest on purpose"
        case .unreachable(let registry, let reason):
            "cannot reach the registry \(registry) (\(reason)): check the address, and use --insecure for a plain-HTTP registry"
        case .unauthorized(let registry, let given):
            given
                ? "the registry \(registry) refused the credentials (401): check --user and --password"
                : "the registry \(registry) requires credentials (401): pass --user and --password (or WASH_REG_USER, WASH_REG_PASSWORD)"
        case .forbidden(let registry):
            "the registry \(registry) refused access (403): these credentials may not do this"
        case .notFound(let what):
            "\(what) was not found in the registry (404): check the repository and tag"
        case .digestMismatch(let what, let expected, let actual):
            "the \(what) digest is \(actual), not the expected \(expected): the content differs from what was pinned or sent"
        case .notAProviderArchive(let mediaTypes):
            "the image holds no provider archive layer (found \(mediaTypes.isEmpty ? "no layers" : mediaTypes.joined(separator: ", "))): it is not a provider archive"
        case .invalidArchive(let error):
            "the archive is not valid: \(error)"
        case .unexpectedResponse(let status, let request, let detail):
            "the registry answered \(request) with HTTP \(status)\(detail.isEmpty ? "" : ": \(detail)")"
        case .file(let error):
            error.description
        }
    }
}
