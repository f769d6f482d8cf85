import Foundation
import NIOCore
import NIOHTTP1
import PARBytes
import PARClaims
import ProviderArchiveKit

/// Pushes provider archives to, and pulls them from, OCI registries, in the shape `wash push`
/// and `wash pull` use (PAR-FORMAT section 6), so each tool reads what the other wrote.
///
/// Both directions stream with bounded memory: archives are hashed from disk and uploaded in
/// chunks; downloads go straight to a temporary file beside the destination, their size held
/// to the descriptor's and their digest computed as bytes arrive. Every archive is verified
/// before it is pushed and after it is pulled; a pulled archive appears at its destination
/// only once verified. Transfers that stall fail; transient failures are retried (see
/// ``RetryPolicy``); credentials go only to the origin of the registry they are for (see <doc:Distributing>).
///
/// The moving tag `latest`, or no tag (which means `latest`), is refused by every call that
/// names a manifest by tag unless ``allowsLatest`` is set; see
/// ``checkTag(of:allowsLatest:forPush:)``.
///
/// A client and its copies share their HTTP connections across calls: the first call to a
/// registry opens an HTTP client, which later calls reuse. Call ``shutdown()`` once done with
/// them, and before the process execs another program.
public struct ProviderRegistry: Sendable {
    /// The media type of the archive layer.
    public static let layerMediaType = "application/vnd.wasmcloud.provider.archive.layer.v1+par"
    /// The media type of the config blob.
    public static let configMediaType = "application/vnd.wasmcloud.provider.archive.config"
    /// The media type of the manifest.
    public static let manifestMediaType = "application/vnd.oci.image.manifest.v1+json"

    /// Plain HTTP instead of HTTPS, for a local registry.
    public var insecure: Bool
    /// Accept references that name the tag `latest`, or no tag; refused by default, since
    /// what `latest` names moves.
    public var allowsLatest: Bool
    /// Credentials for basic auth or a token endpoint; anonymous when `nil`. See
    /// ``DockerCredentials`` for those `docker login` saved.
    public var credentials: RegistryCredentials?
    /// Trust for HTTPS.
    public var tls: RegistryTLS
    /// Stall detection and answer sizes.
    public var limits: RegistryLimits
    /// Retries of transient failures.
    public var retry: RetryPolicy
    /// Blobs larger than this are uploaded in PATCH chunks of this size.
    public var chunkSize: Int
    /// Upload each blob in one request, however large.
    public var monolithicPush: Bool
    /// Told of retries as they happen.
    public var events: (@Sendable (RegistryEvent) -> Void)?
    /// The HTTP clients this registry and its copies opened.
    let connections = RegistryConnections()

    /// Creates a client.
    ///
    /// - Parameters:
    ///   - insecure: Use plain HTTP.
    ///   - allowsLatest: Accept the tag `latest`, or no tag.
    ///   - credentials: User and password, or `nil` for anonymous.
    ///   - tls: Extra CA certificates, or no verification.
    ///   - limits: Stall detection and answer sizes.
    ///   - retry: Retries of transient failures.
    ///   - chunkSize: The upload chunk size (4 MiB by default).
    ///   - monolithicPush: Upload blobs in one request each.
    ///   - events: Told of retries.
    public init(
        insecure: Bool = false, allowsLatest: Bool = false, credentials: RegistryCredentials? = nil, tls: RegistryTLS = RegistryTLS(),
        limits: RegistryLimits = RegistryLimits(), retry: RetryPolicy = RetryPolicy(), chunkSize: Int = 4 << 20,
        monolithicPush: Bool = false, events: (@Sendable (RegistryEvent) -> Void)? = nil
    ) {
        self.insecure = insecure
        self.allowsLatest = allowsLatest
        self.credentials = credentials
        self.tls = tls
        self.limits = limits
        self.retry = retry
        self.chunkSize = max(chunkSize, 1 << 16)
        self.monolithicPush = monolithicPush
        self.events = events
    }

    /// Shuts down the HTTP clients this registry and its copies opened. Call it once every
    /// call has returned, and before the process execs another program: a client's threads
    /// and connections must not outlive it. A call made after it opens a new client, which
    /// needs another `shutdown()`. Clients still open when the last copy is released are shut
    /// down in the background.
    public func shutdown() async {
        await connections.shutdown()
    }

    /// What a push did.
    public struct PushResult: Sendable {
        /// The reference pushed to.
        public let reference: ImageReference
        /// The tag.
        public let tag: String
        /// The manifest's digest.
        public let manifestDigest: SHA256Hash
        /// Blobs uploaded; blobs the registry already had are skipped.
        public let uploadedBlobs: Int
        /// Blobs the registry already had.
        public let existingBlobs: Int
    }

    /// What a pull found.
    public struct PullResult: Sendable {
        /// The digest of what the reference names: the manifest, or the image index.
        public let manifestDigest: SHA256Hash
        /// The digest of the archive written: its layer's (of the slice taken, for an image
        /// index), or for an archive put together from every slice, the assembled file's.
        public let layerDigest: SHA256Hash
        /// Where the archive was written.
        public let path: String
        /// What verifying the archive found; its `kind` says whether it is a slice.
        public let archive: VerifiedArchive
        /// The slices taken from an image index; empty for a single manifest.
        public let slices: [PlatformSliceDescription]
    }

    /// Verifies an archive file, then pushes it: config and layer blobs (skipped when the
    /// registry has them), then the manifest.
    ///
    /// - Parameters:
    ///   - path: The archive file, pushed byte for byte as on disk.
    ///   - reference: Where to push; needs a tag other than `latest` unless ``allowsLatest``.
    ///   - config: The config blob; `{}` by default.
    ///   - annotations: Manifest annotations, in order.
    ///   - progress: Bytes of the archive uploaded so far, and its size.
    /// - Returns: The tag and manifest digest.
    /// - Throws: ``RegistryError``.
    public func push(
        archiveAt path: String, to reference: ImageReference, config: [UInt8] = Array("{}".utf8),
        annotations: [(key: String, value: String)] = [], progress: (@Sendable (UInt64, UInt64) -> Void)? = nil
    ) async throws(RegistryError) -> PushResult {
        try await pushing(reference, config: config, verify: { () throws(RegistryError) in try Self.layer(ofArchiveAt: path) }) {
            push, layer throws(RegistryError) in
            let manifestBytes = OCIManifest(config: push.configBlob, layers: [layer], annotations: annotations).serialized
            let layerUploaded = try await push.uploader.ensure(.file(path), blob: layer, progress: progress)
            let uploaded = (push.configUploaded ? 1 : 0) + (layerUploaded ? 1 : 0)
            let manifestDigest = try await putManifest(
                manifestBytes, mediaType: Self.manifestMediaType, at: push.tag, session: push.session, scope: push.scope)
            return PushResult(
                reference: reference, tag: push.tag, manifestDigest: manifestDigest, uploadedBlobs: uploaded,
                existingBlobs: 2 - uploaded)
        }
    }

    /// Verifies an archive file and describes it as a layer: one read of the file both
    /// verifies the archive and computes the layer's digest.
    static func layer(ofArchiveAt path: String) throws(RegistryError) -> OCIDescriptor {
        do {
            let digesting = DigestingSource(try FileSource(path: path))
            _ = try ProviderArchive.verify(from: digesting, policy: VerificationPolicy(allowsExpired: false))
            // The digest covers the whole file, the zeros after the tar's end included.
            let (size, digest) = try digesting.drain()
            return OCIDescriptor(mediaType: Self.layerMediaType, digest: digest, size: size)
        } catch let error as ProviderArchiveError {
            throw .invalidArchive(error)
        } catch let error as FileError {
            throw .file(error)
        } catch {
            throw .invalidArchive(.stream(String(describing: error)))
        }
    }

    /// Pulls an archive: fetches the manifest (at most 4 MiB read), checks pinned digests,
    /// downloads the archive layer into a temporary file beside the destination (held to the
    /// descriptor's size, digest computed as it arrives), verifies the archive, and only then
    /// renames it into place.
    ///
    /// When the reference names an image index of platform slices, only the slice `platform`
    /// chooses is downloaded (a host's own by default) and verified as a slice of that
    /// target; with ``PlatformChoice/allTargets`` every slice is, and they are put back
    /// together into the full archive, which must verify whole. `expectedDigest` may pin the
    /// index or the slice taken.
    ///
    /// - Parameters:
    ///   - reference: What to pull; a tag other than `latest`, or a digest, unless ``allowsLatest``.
    ///   - destination: Where to write the archive: a path, or a folder and a base name to which
    ///     `.par` or `.par.gz` is added as the archive is plain or compressed.
    ///   - expectedDigest: The manifest digest to require.
    ///   - policy: How to verify the pulled archive (trusted issuers, expiry).
    ///   - platform: Which slice of an image index to take (see ``PlatformChoice``); a
    ///     single manifest's archive is taken as it is.
    ///   - progress: Bytes of the archive downloaded so far, and its size.
    /// - Returns: The digests, the path, and what verification found.
    /// - Throws: ``RegistryError``; nothing is left at `destination` or beside it on failure.
    public func pull(
        _ reference: ImageReference, to destination: PullDestination, expectedDigest: SHA256Hash? = nil,
        policy: VerificationPolicy = .default, platform: PlatformChoice = .native,
        progress: (@Sendable (UInt64, UInt64) -> Void)? = nil
    ) async throws(RegistryError) -> PullResult {
        let name = try checkedTag(of: reference)
        return try await withSession(reference) { session throws(RegistryError) in
            let scope = "repository:\(reference.repository):pull"
            try await session.authenticate(scope: scope)
            let (body, manifestDigest) = try await fetchManifest(name, of: reference, session: session, scope: scope)
            if let pinned = reference.digest, pinned != manifestDigest {
                throw .digestMismatch(what: "manifest", expected: pinned, actual: manifestDigest)
            }
            if OCIImageIndex.isIndex(body) {
                let index = try OCIImageIndex(parsing: body)
                return try await pull(
                    index, digest: manifestDigest, session: session, scope: scope, to: destination, expectedDigest: expectedDigest,
                    policy: policy, platform: platform, progress: progress)
            }
            if let expectedDigest, expectedDigest != manifestDigest {
                throw .digestMismatch(what: "manifest", expected: expectedDigest, actual: manifestDigest)
            }
            let manifest = try OCIManifest(parsing: body)
            guard let layer = manifest.archiveLayer else { throw .notAProviderArchive(mediaTypes: manifest.layers.map(\.mediaType)) }
            // Verified as it arrives: one read of the archive, not a download and a second read.
            let pulled = try await self.download(
                layer, from: session, scope: scope, to: destination, progress: progress,
                check: { source throws(ProviderArchiveError) in
                    try Self.verifyPulled(source, manifest: manifest, platform: platform, policy: policy)
                })
            let (download, verified) = try pulled.mapError { RegistryError.invalidArchive($0) }.get()
            do throws(FileError) {
                try download.commit()
            } catch {
                throw .file(error)
            }
            return PullResult(
                manifestDigest: manifestDigest, layerDigest: layer.digest, path: download.destination, archive: verified, slices: [])
        }
    }

    /// Verifies an archive pulled from a single manifest: a slice when the manifest says it
    /// holds one (as par's slice manifests do), else the full archive.
    static func verifyPulled(
        _ source: any ByteSource, manifest: OCIManifest, platform: PlatformChoice, policy: VerificationPolicy
    ) throws(ProviderArchiveError) -> VerifiedArchive {
        let annotated = manifest.annotations.first { $0.key == OCIImageIndex.targetAnnotation }.flatMap { try? Target($0.value) }
        switch (annotated, platform) {
        case (let slice?, .native):
            return try ProviderArchive.verifySlice(from: source, target: slice, policy: policy)
        case (let slice?, .target(let wanted)):
            let verified = try ProviderArchive.verifySlice(from: source, target: slice, policy: policy)
            guard slice == wanted else { throw .wrongSliceTarget(expected: wanted, actual: slice) }
            return verified
        case (nil, .target(let wanted)):
            return try ProviderArchive.verify(from: source, requiredTargets: [wanted], policy: policy)
        case (_, .allTargets), (nil, .native):
            return try ProviderArchive.verify(from: source, policy: policy)
        }
    }

    /// The digest of the manifest a reference names now, asked with a manifest HEAD: how a
    /// host learns whether a tag moved without downloading anything.
    ///
    /// - Parameter reference: The reference; a pinned digest is returned as it is. A tag
    ///   `latest`, or none, is refused unless ``allowsLatest``.
    /// - Returns: The manifest's digest.
    /// - Throws: ``RegistryError``.
    public func resolve(_ reference: ImageReference) async throws(RegistryError) -> SHA256Hash {
        if let digest = reference.digest { return digest }
        let tag = try checkedTag(of: reference)
        return try await withSession(reference) { session throws(RegistryError) in
            let scope = "repository:\(reference.repository):pull"
            try await session.authenticate(scope: scope)
            let url = session.url("/v2/\(reference.repository)/manifests/\(tag)")
            let accept = [("Accept", Self.acceptedManifestTypes)]
            let head = try await session.send(HTTPRequest(method: .HEAD, url: url, headers: accept), scope: scope, repeatable: true)
            guard head.status == 200 else { throw Self.failure(head, request: "HEAD manifest", notFound: reference.description) }
            if let text = head.header("Docker-Content-Digest"), let digest = SHA256Hash(ociDigest: text) { return digest }
            // A registry that does not say: the manifest itself, hashed.
            let answer = try await session.send(HTTPRequest(method: .GET, url: url, headers: accept), scope: scope, repeatable: true)
            guard answer.status == 200 else { throw Self.failure(answer, request: "GET manifest", notFound: reference.description) }
            return SHA256Hash.of(answer.body)
        }
    }

    /// The tags of a repository.
    ///
    /// - Parameter reference: Any reference to the repository.
    /// - Returns: Its tags, as the registry lists them.
    /// - Throws: ``RegistryError``.
    public func tags(of reference: ImageReference) async throws(RegistryError) -> [String] {
        try await withSession(reference) { session throws(RegistryError) in
            let scope = "repository:\(reference.repository):pull"
            try await session.authenticate(scope: scope)
            let answer = try await session.send(
                HTTPRequest(method: .GET, url: session.url("/v2/\(reference.repository)/tags/list")), scope: scope, repeatable: true)
            guard answer.status == 200 else { throw Self.failure(answer, request: "GET tags", notFound: reference.repository) }
            guard let json = try? JSONValue(parsing: answer.body) else {
                throw .unexpectedResponse(status: 200, request: "GET tags", detail: "not JSON")
            }
            guard case .array(let tags)? = json["tags"] else { return [] }
            return tags.compactMap { if case .string(let tag) = $0 { tag } else { nil } }
        }
    }

    // MARK: - Pieces

    /// Runs `body` with a session on the registry's shared HTTP client (see ``shutdown()``);
    /// each session answers its own auth challenges.
    func withSession<Result: Sendable>(
        _ reference: ImageReference, _ body: (RegistrySession) async throws(RegistryError) -> Result
    ) async throws(RegistryError) -> Result {
        let transport = try connections.transport(registry: reference.registry, tls: tls, limits: limits)
        let session = try RegistrySession(
            reference: reference, insecure: insecure, credentials: credentials, transport: transport, retry: retry, events: events)
        return try await body(session)
    }

    /// The descriptor of a config blob.
    static func configDescriptor(_ config: [UInt8]) -> OCIDescriptor {
        OCIDescriptor(mediaType: configMediaType, digest: .of(config), size: UInt64(config.count))
    }

    /// A push under way: its tag, its session, scope and uploader, and the config blob,
    /// already uploaded (or found).
    struct PushContext {
        let tag: String
        let session: RegistrySession
        let scope: String
        let uploader: BlobUploader
        let configBlob: OCIDescriptor
        /// Whether the config blob was uploaded, not found on the registry.
        let configUploaded: Bool
    }

    /// What every push does first, in this order: checks the reference's tag, verifies the
    /// archive with `verify` (before anything is sent), opens a session authenticated to push
    /// to the reference's repository, and uploads the config blob; then runs `body`.
    func pushing<Verified: Sendable, Result: Sendable>(
        _ reference: ImageReference, config: [UInt8], verify: @escaping @Sendable () throws(RegistryError) -> Verified,
        _ body: (PushContext, Verified) async throws(RegistryError) -> Result
    ) async throws(RegistryError) -> Result {
        let tag = try checkedTag(of: reference, forPush: true)
        // Reading the whole archive: on a thread of its own, never a cooperative one.
        let verified = try await offload(verify)
        let configBlob = Self.configDescriptor(config)
        return try await withSession(reference) { session throws(RegistryError) in
            let scope = "repository:\(reference.repository):pull,push"
            try await session.authenticate(scope: scope)
            let uploader = BlobUploader(
                session: session, repository: reference.repository, scope: scope, chunkSize: chunkSize, monolithic: monolithicPush)
            let configUploaded = try await uploader.ensure(.bytes(config), blob: configBlob, progress: nil)
            let push = PushContext(
                tag: tag, session: session, scope: scope, uploader: uploader, configBlob: configBlob, configUploaded: configUploaded)
            return try await body(push, verified)
        }
    }

    /// Downloads an archive layer into a temporary file beside the destination, verifying it
    /// with `check` as it arrives (one read of it), retried from the start on transient
    /// failures. A refused archive is removed, and its error returned.
    func download(
        _ layer: OCIDescriptor, from session: RegistrySession, scope: String, to destination: PullDestination,
        progress: (@Sendable (UInt64, UInt64) -> Void)?, check: @escaping StreamingVerification.Check
    ) async throws(RegistryError) -> Result<(download: BlobDownload, archive: VerifiedArchive), ProviderArchiveError> {
        let policy = session.retryPolicy
        var retries = 0
        while true {
            let download = BlobDownload(layer, destination: destination, progress: progress, check: check)
            do throws(RegistryError) {
                let answer = try await session.send(
                    HTTPRequest(method: .GET, url: session.url("/v2/\(session.reference.repository)/blobs/\(layer.digest)")),
                    scope: scope, repeatable: false,
                    stream: BodyStream(accepts: { $0 == 200 }, consume: { try await download.write($0) }))
                guard answer.status == 200 else {
                    throw Self.failure(answer, request: "GET blob", notFound: "the archive layer \(layer.digest)")
                }
                switch try await download.finish() {
                case .success(let archive): return .success((download, archive))
                case .failure(let refusal):
                    download.discard()
                    return .failure(refusal)
                }
            } catch {
                download.discard()
                guard error.isTransient, retries < policy.maximumRetries else { throw error }
                retries += 1
                let delay = policy.delay(forRetry: retries, retryAfter: nil)
                session.notify(.retrying(request: "the download of \(layer.digest)", reason: error.description, retry: retries, of: policy.maximumRetries, after: delay))
                await session.sleep(delay)
            }
        }
    }

    /// The rule for the moving tag `latest`, in the one place it is decided: a reference that
    /// names the tag `latest`, or no tag (which means `latest`), is refused unless allowed. A
    /// reference pinned by digest names fixed content, so reading it is never refused; a push
    /// writes under a tag, which a digest does not pin.
    ///
    /// Every call of ``ProviderRegistry`` that names a manifest by tag applies it with
    /// ``allowsLatest``; a caller may apply it itself to refuse early, before any other work.
    ///
    /// - Parameters:
    ///   - reference: The reference to read from, or push to.
    ///   - allowsLatest: Accept the tag `latest`, or no tag.
    ///   - forPush: The reference is pushed to, so a digest in it does not pin anything.
    /// - Returns: What names the manifest on the registry: for a push, the tag; for a read,
    ///   the digest when pinned, else the tag (`latest` when none).
    /// - Throws: ``RegistryError/latestRefused(_:)``.
    @discardableResult
    public static func checkTag(
        of reference: ImageReference, allowsLatest: Bool, forPush: Bool = false
    ) throws(RegistryError) -> String {
        if !forPush, let digest = reference.digest { return digest.description }
        let tag = reference.tag ?? "latest"
        guard allowsLatest || tag != "latest" else { throw .latestRefused(reference) }
        return tag
    }

    /// The same rule for an image layout's entry name: an entry named `latest` moves as the
    /// tag does, so it is refused unless allowed. A layout read without a name takes its one
    /// entry, whatever its name.
    ///
    /// - Parameters:
    ///   - layout: The layout and the entry's name.
    ///   - allowsLatest: Accept the name `latest`.
    /// - Throws: ``RegistryError/latestNameRefused(_:)``.
    public static func checkName(of layout: OCILayoutReference, allowsLatest: Bool) throws(RegistryError) {
        guard allowsLatest || layout.tag != "latest" else { throw .latestNameRefused(layout) }
    }

    /// ``checkTag(of:allowsLatest:forPush:)`` with this client's ``allowsLatest``.
    func checkedTag(of reference: ImageReference, forPush: Bool = false) throws(RegistryError) -> String {
        try Self.checkTag(of: reference, allowsLatest: allowsLatest, forPush: forPush)
    }

    /// Every manifest type a pull reads: OCI's and Docker's manifests and indexes.
    static let acceptedManifestTypes = [
        manifestMediaType, OCIManifest.dockerManifestMediaType, OCIImageIndex.mediaType, OCIImageIndex.dockerManifestListMediaType,
    ].joined(separator: ", ")

    /// Fetches a manifest or index by tag or digest: its bytes (at most the answer limit)
    /// and their digest.
    func fetchManifest(
        _ tagOrDigest: String, of reference: ImageReference, session: RegistrySession, scope: String
    ) async throws(RegistryError) -> (body: [UInt8], digest: SHA256Hash) {
        let answer = try await session.send(
            HTTPRequest(
                method: .GET, url: session.url("/v2/\(reference.repository)/manifests/\(tagOrDigest)"),
                headers: [("Accept", Self.acceptedManifestTypes)]),
            scope: scope, repeatable: true)
        guard answer.status == 200 else {
            throw Self.failure(answer, request: "GET manifest", notFound: reference.description)
        }
        return (answer.body, SHA256Hash.of(answer.body))
    }

    /// Puts a manifest or index under a tag or its digest, and checks the digest the
    /// registry answers.
    @discardableResult
    func putManifest(
        _ bytes: [UInt8], mediaType: String, at tagOrDigest: String, session: RegistrySession, scope: String
    ) async throws(RegistryError) -> SHA256Hash {
        let digest = SHA256Hash.of(bytes)
        let answer = try await session.send(
            HTTPRequest(
                method: .PUT, url: session.url("/v2/\(session.reference.repository)/manifests/\(tagOrDigest)"),
                headers: [("Content-Type", mediaType)], body: .bytes(bytes)),
            scope: scope, repeatable: true)
        guard answer.status == 201 || answer.status == 200 else {
            throw Self.failure(answer, request: "PUT manifest", notFound: "the repository \(session.reference.repository)")
        }
        if let text = answer.header("Docker-Content-Digest"), let answered = SHA256Hash(ociDigest: text), answered != digest {
            throw .digestMismatch(what: "manifest", expected: digest, actual: answered)
        }
        return digest
    }

    static func failure(_ answer: HTTPAnswer, request: String, notFound: String) -> RegistryError {
        if answer.status == 404 { return .notFound(notFound) }
        let detail = String(decoding: answer.body.prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return .unexpectedResponse(status: answer.status, request: request, detail: detail)
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
