import Foundation
import NIOHTTP1
import PARBytes

/// What a blob upload sends: bytes in memory (the config), or a file streamed from disk.
enum BlobContent: Sendable {
    case bytes([UInt8])
    case file(String)
}

/// Uploads blobs to one repository as the distribution spec has it: `POST` to open an
/// upload, the content in `PATCH` chunks (or in the closing request, for small blobs or a
/// monolithic push), `PUT ?digest=` to close it. A transient failure anywhere starts the
/// whole upload again from the `POST`, since a half-sent upload cannot be resumed reliably.
struct BlobUploader {
    let session: RegistrySession
    let repository: String
    let scope: String
    /// Blobs larger than this go up in chunks of this size.
    let chunkSize: Int
    /// Send every blob in one request, however large.
    let monolithic: Bool

    /// Whether the registry already has a blob (`HEAD`).
    func exists(_ digest: SHA256Hash) async throws(RegistryError) -> Bool {
        let answer = try await session.send(
            HTTPRequest(method: .HEAD, url: session.url("/v2/\(repository)/blobs/\(digest)")), scope: scope, repeatable: true)
        switch answer.status {
        case 200: return true
        case 404: return false
        default: throw ProviderRegistry.failure(answer, request: "HEAD blob", notFound: digest.ociDigest)
        }
    }

    /// Asks the registry to mount a blob from another of its repositories, so no byte is
    /// sent. A registry that does not (or may not, with these credentials) answers with an
    /// ordinary upload session instead, which is cancelled.
    ///
    /// - Returns: Whether the blob was mounted.
    func mount(_ digest: SHA256Hash, from source: String) async -> Bool {
        guard var components = URLComponents(string: session.url("/v2/\(repository)/blobs/uploads/")) else { return false }
        components.queryItems = [URLQueryItem(name: "mount", value: digest.ociDigest), URLQueryItem(name: "from", value: source)]
        guard let url = components.url?.absoluteString else { return false }
        // A registry that refuses (401 or 403 when these credentials cannot read the source
        // repository) or fails is no worse than one without mounts: the blob is uploaded.
        guard let answer = try? await session.send(HTTPRequest(method: .POST, url: url), scope: scope, repeatable: false) else {
            return false
        }
        if answer.status == 201 { return true }
        if answer.status == 202, let location = answer.header("Location") {
            _ = try? await session.send(HTTPRequest(method: .DELETE, url: session.url(location)), scope: scope, repeatable: false)
        }
        return false
    }

    /// Uploads a blob unless the registry has it already.
    ///
    /// - Returns: Whether it was uploaded.
    func ensure(
        _ content: BlobContent, blob: OCIDescriptor, progress: (@Sendable (UInt64, UInt64) -> Void)?
    ) async throws(RegistryError) -> Bool {
        if try await exists(blob.digest) {
            progress?(blob.size, blob.size)
            return false
        }
        try await upload(content, digest: blob.digest, size: blob.size, progress: progress)
        return true
    }

    /// Uploads a blob, retried from the start on transient failures.
    func upload(
        _ content: BlobContent, digest: SHA256Hash, size: UInt64, progress: (@Sendable (UInt64, UInt64) -> Void)?
    ) async throws(RegistryError) {
        let policy = session.retryPolicy
        var retries = 0
        while true {
            do {
                try await attempt(content, digest: digest, size: size, progress: progress)
                return
            } catch where error.isTransient && retries < policy.maximumRetries {
                retries += 1
                let delay = policy.delay(forRetry: retries, retryAfter: nil)
                session.notify(.retrying(request: "the upload of \(digest)", reason: error.description, retry: retries, of: policy.maximumRetries, after: delay))
                await session.sleep(delay)
            }
        }
    }

    private func attempt(
        _ content: BlobContent, digest: SHA256Hash, size: UInt64, progress: (@Sendable (UInt64, UInt64) -> Void)?
    ) async throws(RegistryError) {
        let start = try await session.send(
            HTTPRequest(method: .POST, url: session.url("/v2/\(repository)/blobs/uploads/")), scope: scope, repeatable: false)
        guard start.status == 202, var location = start.header("Location") else {
            throw ProviderRegistry.failure(start, request: "POST upload", notFound: "the repository \(repository)")
        }
        let counter = ByteCounter(total: size) { done, _ in progress?(min(done, size), size) }
        var closingBody: HTTPRequest.Body = .none
        switch content {
        case .bytes(let bytes):
            closingBody = .bytes(bytes)
        case .file(let path) where monolithic || size <= UInt64(chunkSize):
            closingBody = .file(path: path, offset: 0, count: size)
        case .file(let path):
            var offset: UInt64 = 0
            while offset < size {
                let count = min(UInt64(chunkSize), size - offset)
                let answer = try await session.send(
                    HTTPRequest(
                        method: .PATCH, url: session.url(location),
                        headers: [("Content-Type", "application/octet-stream"), ("Content-Range", "\(offset)-\(offset + count - 1)")],
                        body: .file(path: path, offset: offset, count: count)),
                    scope: scope, repeatable: false, sent: counter.add)
                guard answer.status == 202, let next = answer.header("Location") else {
                    throw ProviderRegistry.failure(answer, request: "PATCH upload", notFound: "the upload")
                }
                location = next
                offset += count
            }
        }
        guard let finish = Self.appendingDigest(digest, to: session.url(location)) else {
            throw .unexpectedResponse(status: 202, request: "POST upload", detail: "an invalid Location")
        }
        let sent: (@Sendable (Int) -> Void)? = if case .file = closingBody { counter.add } else { nil }
        let answer = try await session.send(
            HTTPRequest(method: .PUT, url: finish, headers: [("Content-Type", "application/octet-stream")], body: closingBody),
            scope: scope, repeatable: false, sent: sent)
        guard answer.status == 201 else {
            if answer.status == 400, String(decoding: answer.body, as: UTF8.self).contains("DIGEST_INVALID") {
                throw .uploadRejected(digest)
            }
            throw ProviderRegistry.failure(answer, request: "PUT upload", notFound: "the upload")
        }
        if case .bytes = content { progress?(size, size) }
    }

    /// The upload URL with `digest=` added to its query, the rest kept as the registry wrote it.
    static func appendingDigest(_ digest: SHA256Hash, to location: String) -> String? {
        guard var components = URLComponents(string: location) else { return nil }
        components.queryItems = (components.queryItems ?? []) + [URLQueryItem(name: "digest", value: digest.ociDigest)]
        return components.url?.absoluteString
    }
}
