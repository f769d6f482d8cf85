import Foundation
import ProviderArchiveKit

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Pushes provider archives to, and pulls them from, OCI registries, in the shape `wash push`
/// and `wash pull` use (PAR-FORMAT section 6), so each tool reads what the other wrote.
///
/// Both directions stream: archives are hashed from disk, uploaded in chunks, downloaded to a
/// file, so memory stays bounded whatever their size. Every archive is verified before it is
/// pushed and after it is pulled; a pulled archive appears at its destination only once verified.
public struct ProviderRegistry: Sendable {
    /// The media type of the archive layer.
    public static let layerMediaType = "application/vnd.wasmcloud.provider.archive.layer.v1+par"
    /// The media type of the config blob.
    public static let configMediaType = "application/vnd.wasmcloud.provider.archive.config"
    /// The media type of the manifest.
    public static let manifestMediaType = "application/vnd.oci.image.manifest.v1+json"

    /// Plain HTTP instead of HTTPS, for a local registry.
    public var insecure: Bool
    /// Credentials for basic auth or a token endpoint; anonymous when `nil`.
    public var credentials: RegistryCredentials?
    /// Blobs larger than this are uploaded in PATCH chunks of this size.
    public var chunkSize: Int

    /// Creates a client.
    ///
    /// - Parameters:
    ///   - insecure: Use plain HTTP.
    ///   - credentials: User and password, or `nil` for anonymous.
    ///   - chunkSize: The upload chunk size (4 MiB by default): memory while pushing is about
    ///     two chunks, whatever the archive's size.
    public init(insecure: Bool = false, credentials: RegistryCredentials? = nil, chunkSize: Int = 4 << 20) {
        self.insecure = insecure
        self.credentials = credentials
        self.chunkSize = max(chunkSize, 1 << 16)
    }

    /// What a push did.
    public struct PushResult: Sendable {
        /// The reference pushed to.
        public let reference: ImageReference
        /// The tag.
        public let tag: String
        /// The manifest's digest, `sha256:...`.
        public let manifestDigest: String
        /// Blobs uploaded; blobs the registry already had are skipped.
        public let uploadedBlobs: Int
        /// Blobs the registry already had.
        public let existingBlobs: Int
    }

    /// What a pull found.
    public struct PullResult: Sendable {
        /// The manifest's digest, `sha256:...`.
        public let manifestDigest: String
        /// The archive layer's digest.
        public let layerDigest: String
        /// Where the archive was written.
        public let path: String
        /// What verifying the archive found.
        public let archive: VerifiedArchive
    }

    /// Verifies an archive file, then pushes it: config and layer blobs (skipped when the
    /// registry has them), then the manifest.
    ///
    /// - Parameters:
    ///   - path: The archive file, pushed byte for byte as on disk.
    ///   - reference: Where to push; needs a tag other than `latest` unless `allowLatest`.
    ///   - config: The config blob; `{}` by default.
    ///   - annotations: Manifest annotations, in order.
    ///   - allowLatest: Accept the tag `latest`, or no tag (which means `latest`).
    ///   - progress: Bytes of the archive uploaded so far, and its size.
    /// - Returns: The tag and manifest digest.
    /// - Throws: ``RegistryError``.
    public func push(
        archiveAt path: String, to reference: ImageReference, config: [UInt8] = Array("{}".utf8),
        annotations: [(key: String, value: String)] = [], allowLatest: Bool = false,
        progress: (@Sendable (UInt64, UInt64) -> Void)? = nil
    ) async throws(RegistryError) -> PushResult {
        let tag = reference.tag ?? "latest"
        guard allowLatest || (reference.tag != nil && tag != "latest") else { throw .latestRefused(reference.description) }
        // One read of the file both verifies the archive and computes the layer's digest.
        let (layerDigest, layerSize): (String, UInt64)
        do {
            let digesting = DigestingSource(try FileSource(path: path))
            _ = try ProviderArchive.verify(from: digesting, policy: VerificationPolicy(allowsExpired: false))
            try digesting.drain()
            (layerDigest, layerSize) = (digesting.digest, digesting.count)
        } catch let error as ProviderArchiveError {
            throw .invalidArchive(error)
        } catch let error as FileError {
            throw .file(error)
        } catch {
            throw .invalidArchive(.stream(String(describing: error)))
        }
        let configDigest = "sha256:" + StreamingHash.hash(config).lowercaseHex
        let session = try RegistrySession(registry: reference.registry, insecure: insecure, credentials: credentials)
        let scope = "repository:\(reference.repository):pull,push"
        try await session.authenticate(scope: scope)

        var uploaded = 0
        var existing = 0
        for blob in [(configDigest, UInt64(config.count), Blob.bytes(config)), (layerDigest, layerSize, Blob.file(path))] {
            if try await blobExists(blob.0, in: reference, session: session, scope: scope) {
                existing += 1
                if case .file = blob.2 { progress?(layerSize, layerSize) }
            } else {
                try await upload(blob.2, digest: blob.0, size: blob.1, to: reference, session: session, scope: scope, progress: progress)
                uploaded += 1
            }
        }

        let manifest = Self.manifest(
            configDigest: configDigest, configSize: config.count, layerDigest: layerDigest, layerSize: layerSize,
            annotations: annotations)
        let manifestBytes = Data(manifest.serialized.utf8)
        let manifestDigest = "sha256:" + StreamingHash.hash(Array(manifestBytes)).lowercaseHex
        let response = try await session.send(
            "PUT", session.url("/v2/\(reference.repository)/manifests/\(tag)"),
            headers: ["Content-Type": Self.manifestMediaType], body: .data(manifestBytes), scope: scope)
        guard response.status == 201 || response.status == 200 else {
            throw Self.failure(response, request: "PUT manifest", notFound: "the repository \(reference.repository)")
        }
        if let answered = response.header("Docker-Content-Digest"), answered != manifestDigest {
            throw .digestMismatch(what: "manifest", expected: manifestDigest, actual: answered)
        }
        return PushResult(reference: reference, tag: tag, manifestDigest: manifestDigest, uploadedBlobs: uploaded, existingBlobs: existing)
    }

    /// Pulls an archive: fetches the manifest, checks pinned digests, downloads the archive
    /// layer to a file while checking its digest, verifies the archive, and only then moves it
    /// into place at `destination`.
    ///
    /// - Parameters:
    ///   - reference: What to pull; a tag other than `latest`, or a digest, unless `allowLatest`.
    ///   - destination: Where to write the archive: a path, or a folder and a base name to which
    ///     `.par` or `.par.gz` is added as the archive is plain or compressed.
    ///   - expectedDigest: The manifest digest to require, with or without `sha256:`.
    ///   - allowLatest: Accept the tag `latest`, or no tag.
    ///   - policy: How to verify the pulled archive (trusted issuers, expiry).
    /// - Returns: The digests, the path, and what verification found.
    /// - Throws: ``RegistryError``; nothing is left at `destination` on failure.
    public func pull(
        _ reference: ImageReference, to destination: PullDestination, expectedDigest: String? = nil, allowLatest: Bool = false,
        policy: VerificationPolicy = .default
    ) async throws(RegistryError) -> PullResult {
        if reference.digest == nil {
            guard allowLatest || (reference.tag != nil && reference.tag != "latest") else {
                throw .latestRefused(reference.description)
            }
        }
        let session = try RegistrySession(registry: reference.registry, insecure: insecure, credentials: credentials)
        let scope = "repository:\(reference.repository):pull"
        try await session.authenticate(scope: scope)
        let manifestReference = reference.digest ?? reference.tag ?? "latest"
        let response = try await session.send(
            "GET", session.url("/v2/\(reference.repository)/manifests/\(manifestReference)"),
            headers: ["Accept": "\(Self.manifestMediaType), application/vnd.docker.distribution.manifest.v2+json"],
            scope: scope)
        guard response.status == 200 else {
            throw Self.failure(response, request: "GET manifest", notFound: reference.description)
        }
        guard response.body.count <= RegistrySession.maximumAnswerSize else {
            throw .unexpectedResponse(status: 200, request: "GET manifest", detail: "a manifest of \(response.body.count) bytes")
        }
        let manifestDigest = "sha256:" + StreamingHash.hash(Array(response.body)).lowercaseHex
        for pinned in [reference.digest, expectedDigest.map { $0.hasPrefix("sha256:") ? $0 : "sha256:" + $0 }] {
            if let pinned, pinned.lowercased() != manifestDigest {
                throw .digestMismatch(what: "manifest", expected: pinned, actual: manifestDigest)
            }
        }
        guard let manifest = try? JSONValue(parsing: Array(response.body)), case .array(let layers)? = manifest["layers"] else {
            throw .unexpectedResponse(status: 200, request: "GET manifest", detail: "not an image manifest")
        }
        let mediaTypes = layers.compactMap { layer -> String? in
            if case .string(let type)? = layer["mediaType"] { return type }
            return nil
        }
        guard let layer = layers.first(where: { $0["mediaType"] == .string(Self.layerMediaType) }),
            case .string(let layerDigest)? = layer["digest"], ImageReference.isDigest(layerDigest)
        else { throw .notAProviderArchive(mediaTypes: mediaTypes) }

        let blob = try await session.send(
            "GET", session.url("/v2/\(reference.repository)/blobs/\(layerDigest)"), download: true, scope: scope)
        guard blob.status == 200, let downloaded = blob.file else {
            if let file = blob.file { try? FileManager.default.removeItem(at: file) }
            throw Self.failure(blob, request: "GET blob", notFound: "the archive layer \(layerDigest)")
        }
        defer { try? FileManager.default.removeItem(at: downloaded) }

        // One read checks the layer digest, verifies the archive and copies it to a temporary
        // file, renamed into place only when both checks passed.
        let output: AtomicFileSink
        let digesting: DigestingSource
        do {
            var magic = [UInt8](repeating: 0, count: 2)
            _ = try magic.withUnsafeMutableBytes { try FileSource(path: downloaded.path).readFully(into: $0) }
            output = try AtomicFileSink(destination: destination.path(compressed: GzipReader.isGzip(magic)), mode: 0o644)
            digesting = DigestingSource(try FileSource(path: downloaded.path), copyingTo: output)
        } catch let error as FileError {
            throw .file(error)
        } catch {
            throw .file(FileError(operation: "read", path: downloaded.path, code: 5))
        }
        var verified: VerifiedArchive?
        var failure: RegistryError?
        do {
            verified = try ProviderArchive.verify(from: digesting, policy: policy)
        } catch {
            failure = .invalidArchive(error)
        }
        do {
            try digesting.drain()
        } catch {
            failure = failure ?? .file(FileError(operation: "write", path: output.destination, code: 5))
        }
        // A layer that is not what the manifest names is the first thing to report.
        guard digesting.digest == layerDigest else {
            throw .digestMismatch(what: "archive layer", expected: layerDigest, actual: digesting.digest)
        }
        guard let verified, failure == nil else { throw failure ?? .invalidArchive(.missingClaims) }
        do {
            try output.commit()
        } catch {
            throw .file(error)
        }
        return PullResult(manifestDigest: manifestDigest, layerDigest: layerDigest, path: output.destination, archive: verified)
    }

    /// The tags of a repository.
    ///
    /// - Parameter reference: Any reference to the repository.
    /// - Returns: Its tags, as the registry lists them.
    /// - Throws: ``RegistryError``.
    public func tags(of reference: ImageReference) async throws(RegistryError) -> [String] {
        let session = try RegistrySession(registry: reference.registry, insecure: insecure, credentials: credentials)
        try await session.authenticate(scope: "repository:\(reference.repository):pull")
        let response = try await session.send(
            "GET", session.url("/v2/\(reference.repository)/tags/list"), scope: "repository:\(reference.repository):pull")
        guard response.status == 200 else { throw Self.failure(response, request: "GET tags", notFound: reference.repository) }
        guard let json = try? JSONValue(parsing: Array(response.body)) else {
            throw .unexpectedResponse(status: 200, request: "GET tags", detail: "not JSON")
        }
        guard case .array(let tags)? = json["tags"] else { return [] }
        return tags.compactMap { if case .string(let tag) = $0 { tag } else { nil } }
    }

    // MARK: - Pieces

    enum Blob {
        case bytes([UInt8])
        case file(String)
    }

    /// The manifest wash pushes: OCI image manifest, `{}` config, one archive layer.
    static func manifest(
        configDigest: String, configSize: Int, layerDigest: String, layerSize: UInt64,
        annotations: [(key: String, value: String)]
    ) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("schemaVersion", .number("2")),
            ("mediaType", .string(manifestMediaType)),
            ("config", .object([
                ("mediaType", .string(configMediaType)), ("digest", .string(configDigest)), ("size", .number(String(configSize))),
            ])),
            ("layers", .array([
                .object([("mediaType", .string(layerMediaType)), ("digest", .string(layerDigest)), ("size", .number(String(layerSize)))])
            ])),
        ]
        if !annotations.isEmpty {
            var seen = Set<String>()
            members.append(("annotations", .object(annotations.filter { seen.insert($0.key).inserted }.map { ($0.key, .string($0.value)) })))
        }
        return .object(members)
    }

    private func blobExists(_ digest: String, in reference: ImageReference, session: RegistrySession, scope: String) async throws(RegistryError) -> Bool {
        let response = try await session.send("HEAD", session.url("/v2/\(reference.repository)/blobs/\(digest)"), scope: scope)
        switch response.status {
        case 200: return true
        case 404: return false
        default: throw Self.failure(response, request: "HEAD blob", notFound: digest)
        }
    }

    private func upload(
        _ blob: Blob, digest: String, size: UInt64, to reference: ImageReference, session: RegistrySession, scope: String,
        progress: (@Sendable (UInt64, UInt64) -> Void)?
    ) async throws(RegistryError) {
        let start = try await session.send("POST", session.url("/v2/\(reference.repository)/blobs/uploads/"), scope: scope)
        guard start.status == 202, var location = start.header("Location") else {
            throw Self.failure(start, request: "POST upload", notFound: "the repository \(reference.repository)")
        }
        var finalBody: RegistrySession.Body = .none
        switch blob {
        case .bytes(let bytes):
            finalBody = .data(Data(bytes))
        case .file(let path) where size <= UInt64(chunkSize):
            finalBody = .file(URL(fileURLWithPath: path))
            progress?(size, size)
        case .file(let path):
            // Chunks of chunkSize read one at a time: memory stays bounded by one chunk.
            let source: FileSource
            do {
                source = try FileSource(path: path)
            } catch {
                throw .file(error)
            }
            var offset: UInt64 = 0
            // One buffer, reused for every chunk and sent as is: no per-chunk allocation or copy.
            var chunk = Data(count: chunkSize)
            while offset < size {
                let count: Int
                do {
                    chunk.count = chunkSize
                    count = try chunk.withUnsafeMutableBytes { try source.readFully(into: $0) }
                    chunk.count = count
                } catch {
                    throw .file(error as? FileError ?? FileError(operation: "read", path: path, code: 5))
                }
                guard count > 0 else { throw .file(FileError(operation: "read", path: path, code: 5)) }
                let response = try await session.send(
                    "PATCH", session.url(location),
                    headers: [
                        "Content-Type": "application/octet-stream",
                        "Content-Range": "\(offset)-\(offset + UInt64(count) - 1)",
                    ],
                    body: .data(chunk), scope: scope)
                guard response.status == 202, let next = response.header("Location") else {
                    throw Self.failure(response, request: "PATCH upload", notFound: "the upload")
                }
                location = next
                offset += UInt64(count)
                progress?(offset, size)
            }
        }
        guard var components = URLComponents(url: session.url(location), resolvingAgainstBaseURL: true) else {
            throw .unexpectedResponse(status: 202, request: "POST upload", detail: "an invalid Location \(location)")
        }
        components.queryItems = (components.queryItems ?? []) + [URLQueryItem(name: "digest", value: digest)]
        guard let finishURL = components.url else {
            throw .unexpectedResponse(status: 202, request: "POST upload", detail: "an invalid Location \(location)")
        }
        let response = try await session.send(
            "PUT", finishURL, headers: ["Content-Type": "application/octet-stream"], body: finalBody, scope: scope)
        guard response.status == 201 else {
            if response.status == 400, String(decoding: response.body, as: UTF8.self).contains("DIGEST_INVALID") {
                throw .digestMismatch(what: "uploaded blob", expected: digest, actual: "something else")
            }
            throw Self.failure(response, request: "PUT upload", notFound: "the upload")
        }
    }

    static func failure(_ response: HTTPResponse, request: String, notFound: String) -> RegistryError {
        if response.status == 404 { return .notFound(notFound) }
        let detail = String(decoding: response.body.prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return .unexpectedResponse(status: response.status, request: request, detail: detail)
    }
}

/// Where a pulled archive goes.
public enum PullDestination: Sendable, Equatable {
    /// This exact path.
    case path(String)
    /// `FOLDER/NAME.par`, or `FOLDER/NAME.par.gz` when the archive is compressed.
    case named(folder: String, name: String)

    func path(compressed: Bool) -> String {
        switch self {
        case .path(let path): path
        case .named(let folder, let name): folder + "/" + name + (compressed ? ".par.gz" : ".par")
        }
    }
}

/// A source that computes the registry digest (`sha256:` + hex) and size of what is read
/// through it, and optionally copies it into a sink: verify, digest and write in one pass.
final class DigestingSource: ByteSource {
    private let source: any ByteSource
    private let sink: (any ByteSink)?
    private var hash = StreamingHash()
    private(set) var count: UInt64 = 0

    init(_ source: any ByteSource, copyingTo sink: (any ByteSink)? = nil) {
        self.source = source
        self.sink = sink
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let read = try source.read(into: buffer)
        if read > 0 {
            let bytes = UnsafeRawBufferPointer(rebasing: buffer[..<read])
            hash.update(bytes)
            try sink?.write(bytes)
            count += UInt64(read)
        }
        return read
    }

    /// Reads whatever the consumer left unread (trailing zeros after the tar end, or the rest
    /// after a failed check), so the digest covers the whole stream.
    func drain() throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while try read(into: buffer) > 0 {}
    }

    /// The digest of everything read so far.
    var digest: String { "sha256:" + hash.finalize().lowercaseHex }
}
