import PARBytes
import PARClaims
import ProviderArchiveKit

/// Why a push or pull failed. Each case states the fault and carries what a caller needs to
/// act on it (the reference, the registry, the targets); its description states that fault and
/// names no tool's flags, so a program can add its own advice. No case carries a password or
/// token, so none can print one.
public enum RegistryError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The reference cannot be parsed.
    case invalidReference(String, reason: String)
    /// The reference names the moving tag `latest`, or no tag (which means `latest`), and
    /// the registry client does not allow it (``ProviderRegistry/allowsLatest``).
    case latestRefused(ImageReference)
    /// An image layout's entry is named `latest`, which moves as the tag does, and it is
    /// not allowed (the same rule as ``latestRefused(_:)``).
    case latestNameRefused(OCILayoutReference)
    /// The registry cannot be reached.
    case unreachable(registry: String, reason: String)
    /// The connection broke in the middle (reset, closed); retried before this is thrown.
    case connectionLost(registry: String, reason: String)
    /// The registry's certificate is not trusted, or TLS failed.
    case untrustedCertificate(registry: String, reason: String)
    /// A CA certificate file cannot be read or holds no certificate.
    case certificateFile(path: String, reason: String)
    /// A transfer moved fewer than `minimumBytes` in `window`.
    case stalled(registry: String, window: Duration, minimumBytes: Int)
    /// A manifest, token or error answer is larger than allowed.
    case answerTooLarge(request: String, limit: Int)
    /// A blob's body is longer or shorter than its descriptor's size.
    case blobSizeMismatch(digest: SHA256Hash, declared: UInt64, received: UInt64)
    /// The registry wants credentials, or refused the ones given (HTTP 401).
    case unauthorized(registry: String, credentialsGiven: Bool)
    /// The credentials are valid but may not do this (HTTP 403).
    case forbidden(registry: String)
    /// A bearer challenge names a token endpoint over plain HTTP for an HTTPS registry.
    case insecureTokenEndpoint(realm: String, registry: String)
    /// The docker config file cannot be read or parsed.
    case dockerConfig(path: String, reason: String)
    /// A docker credential helper failed.
    case credentialHelper(name: String, reason: String)
    /// No such repository, tag, manifest or blob (HTTP 404).
    case notFound(String)
    /// A digest differs from the one expected.
    case digestMismatch(what: String, expected: SHA256Hash, actual: SHA256Hash)
    /// The registry refused an uploaded blob's digest.
    case uploadRejected(SHA256Hash)
    /// The manifest holds no provider archive layer.
    case notAProviderArchive(mediaTypes: [String])
    /// An image index lists more manifests than a provider archive has targets.
    case indexTooLarge(entries: Int, limit: Int)
    /// An image index lists another index, which no provider host reads.
    case nestedIndex(SHA256Hash)
    /// An image index has no slice for the target asked for.
    case noSliceForTarget(Target, available: [String])
    /// A platform slice an index lists is not valid, or not the slice its entry says.
    case invalidSlice(platform: String, manifest: SHA256Hash, ProviderArchiveError)
    /// An index entry names a platform that the binary of its slice is not for.
    case slicePlatformMismatch(platform: String, manifest: SHA256Hash, holds: [Target])
    /// The archive is not valid: refused before a push, or after a pull.
    case invalidArchive(ProviderArchiveError)
    /// The registry answered something this client does not understand.
    case unexpectedResponse(status: Int, request: String, detail: String)
    /// A local file could not be read or written.
    case file(FileError)
    /// An OCI image layout (a folder, or a tar of one) that cannot be read as one.
    case invalidLayout(path: String, problem: OCILayoutProblem)

    public var description: String {
        switch self {
        case .invalidReference(let text, let reason):
            "'\(text)' is not a registry reference: \(reason)"
        case .latestRefused(let reference):
            "\(reference) uses the tag 'latest' or none"
        case .latestNameRefused(let layout):
            "\(layout) names the entry 'latest'"
        case .unreachable(let registry, let reason):
            "cannot reach the registry \(registry) (\(reason))"
        case .connectionLost(let registry, let reason):
            "the connection to \(registry) broke (\(reason)), and retrying did not help: try again later"
        case .untrustedCertificate(let registry, let reason):
            "the registry \(registry) failed TLS verification (\(reason))"
        case .certificateFile(let path, let reason):
            "the CA file \(path) is not usable: \(reason); give a PEM file of certificates"
        case .stalled(let registry, let window, let minimumBytes):
            "the registry stopped sending data: \(registry) moved less than \(minimumBytes) bytes in \(window.components.seconds) s; try again later"
        case .answerTooLarge(let request, let limit):
            "the registry's answer to \(request) is larger than \(limit) bytes, more than any manifest: refusing it"
        case .blobSizeMismatch(let digest, let declared, let received):
            received > declared
                ? "the blob \(digest) is longer than the \(declared) bytes its manifest declares: refusing it"
                : "the blob \(digest) ended after \(received) of the \(declared) bytes its manifest declares: try again"
        case .unauthorized(let registry, let given):
            given
                ? "the registry \(registry) refused the credentials (401)"
                : "the registry \(registry) requires credentials (401)"
        case .forbidden(let registry):
            "the registry \(registry) refused access (403): these credentials may not do this"
        case .insecureTokenEndpoint(let realm, let registry):
            "the registry \(registry) sends credentials to \(realm), over plain HTTP: refusing to; the registry is misconfigured"
        case .dockerConfig(let path, let reason):
            "the docker config \(path) is not usable: \(reason)"
        case .credentialHelper(let name, let reason):
            "the docker credential helper \(name) failed: \(reason); check the helper"
        case .notFound(let what):
            "\(what) was not found in the registry (404): check the repository and tag"
        case .digestMismatch(let what, let expected, let actual):
            "the \(what) digest is \(actual), not the expected \(expected): the content differs from what was pinned or sent"
        case .uploadRejected(let digest):
            "the registry refused the uploaded blob \(digest): its bytes arrived changed; try again"
        case .notAProviderArchive(let mediaTypes):
            "the image holds no provider archive layer (found \(mediaTypes.isEmpty ? "no layers" : mediaTypes.joined(separator: ", "))): it is not a provider archive"
        case .indexTooLarge(let entries, let limit):
            "the image index lists \(entries) manifests, more than the \(limit) targets a provider archive can hold: refusing it"
        case .nestedIndex(let digest):
            "the image index lists another index (\(digest)), which no provider host reads: refusing it"
        case .noSliceForTarget(let target, let available):
            "the image index has no slice for \(target) (\(OCIPlatform(target: target))); it has \(available.isEmpty ? "none" : available.joined(separator: ", "))"
        case .invalidSlice(let platform, let manifest, let error):
            "the slice for \(platform) (\(manifest)) is not valid: \(error)"
        case .slicePlatformMismatch(let platform, let manifest, let holds):
            "the image index lists the slice \(manifest) for \(platform), but it holds \(holds.map(\.entryName).joined(separator: ", ")): it was published under the wrong platform; refusing it"
        case .invalidArchive(let error):
            "the archive is not valid: \(error)"
        case .unexpectedResponse(let status, let request, let detail):
            "the registry answered \(request) with HTTP \(status)\(detail.isEmpty ? "" : ": \(detail)")"
        case .file(let error):
            error.description
        case .invalidLayout(let path, let problem):
            "the image layout \(path) cannot be used: \(problem)"
        }
    }

    /// Whether the same request may succeed if sent again: a busy or restarting registry,
    /// a broken connection, a stall.
    var isTransient: Bool {
        switch self {
        case .unexpectedResponse(let status, _, _): RegistrySession.retriedStatuses.contains(status)
        case .connectionLost, .stalled: true
        default: false
        }
    }
}
