import Foundation
import NIOHTTP1
import PARBytes
import PARClaims
import ProviderArchiveKit

/// What a copy did.
public struct CopyResult: Sendable {
    /// The digest of what was copied, the same on both sides: the manifest's, or the index's.
    public let digest: SHA256Hash
    /// Whether it is an image index of platform slices.
    public let isIndex: Bool
    /// The name it was given at the destination: a tag, or a layout entry's name.
    public let name: String
    /// What verifying each archive (or slice) from the source's bytes found, in order.
    public let archives: [VerifiedArchive]
    /// Blobs written to the destination.
    public let copiedBlobs: Int
    /// Blobs the destination already had.
    public let existingBlobs: Int
    /// Blobs the destination registry mounted from the source's repository (same registry),
    /// so they were not sent.
    public let mountedBlobs: Int
}

/// Copies a provider, a manifest or an image index of platform slices, between registries
/// and OCI image layouts (`par cp`), manifests byte for byte so every digest is kept.
///
/// Unlike a copy that only checks digests, every archive and slice is verified from the
/// source's bytes (signature, issuer, expiry, every hash, and for a slice its platform)
/// before anything names it at the destination, and the name (the tag, or the layout's
/// `index.json` entry) is written last: a copy that fails leaves the destination's names as
/// they were. Blobs stream through a temporary file (a registry's) or straight from the
/// layout, never whole in memory; blobs the destination has are not sent again.
public struct ProviderCopier: Sendable {
    /// The client for a source registry; for a layout source, only its
    /// ``ProviderRegistry/allowsLatest`` is used.
    public var source: ProviderRegistry
    /// The client for a destination registry; for a layout destination, only its
    /// ``ProviderRegistry/allowsLatest`` is used.
    public var destination: ProviderRegistry
    /// How every archive is verified.
    public var policy: VerificationPolicy

    /// Creates a copier.
    ///
    /// - Parameters:
    ///   - source: The client (options, credentials) for a source registry.
    ///   - destination: The client for a destination registry.
    ///   - policy: Trusted issuers and expiry, for every archive copied.
    public init(source: ProviderRegistry, destination: ProviderRegistry, policy: VerificationPolicy = .default) {
        self.source = source
        self.destination = destination
        self.policy = policy
    }

    /// Copies what `from` names to `to`.
    ///
    /// - Parameters:
    ///   - from: A registry reference or a layout (with a name, or holding one entry).
    ///   - to: A registry reference or a layout; without a tag or name, the source's is used.
    ///   - progress: Bytes of the current archive moved, and its size.
    /// - Returns: What was copied.
    /// - Throws: ``RegistryError``; the destination's names are unchanged then.
    public func copy(
        from: ProviderLocation, to: ProviderLocation, progress: (@Sendable (UInt64, UInt64) -> Void)? = nil
    ) async throws(RegistryError) -> CopyResult {
        // The source's own name first: a destination name taken from it would blame the destination.
        if case .layout(let layout) = from { try ProviderRegistry.checkName(of: layout, allowsLatest: source.allowsLatest) }
        let name = try destinationName(from: from, to: to)
        return try await withReader(from) { reader throws(RegistryError) in
            // The source's root is read before the destination is touched: a source that names
            // nothing copyable leaves no trace.
            let root = try await reader.root()
            return try await withWriter(to, mountingFrom: from) { writer throws(RegistryError) in
                try await CopyRun(reader: reader, writer: writer, policy: policy, progress: progress).copy(root, naming: name)
            }
        }
    }

    /// The name at the destination: its own tag, else the source's.
    private func destinationName(from: ProviderLocation, to: ProviderLocation) throws(RegistryError) -> String {
        let sourceName: String? =
            switch from {
            case .registry(let reference): reference.tag
            case .layout(let layout): layout.tag
            }
        switch to {
        case .registry(let reference):
            if reference.tag == nil, reference.digest == nil, sourceName == nil {
                throw .invalidReference(reference.description, reason: "it names no tag, and the source has none to take: give the destination a tag")
            }
            if reference.tag == nil, let sourceName {
                return try ProviderRegistry.checkTag(
                    of: try ImageReference("\(reference.registry)/\(reference.repository):\(sourceName)"),
                    allowsLatest: destination.allowsLatest, forPush: true)
            }
            return try ProviderRegistry.checkTag(of: reference, allowsLatest: destination.allowsLatest, forPush: true)
        case .layout(let layout):
            guard let name = layout.tag ?? sourceName else { throw .invalidLayout(path: layout.path, problem: .destinationNameNeeded) }
            try ProviderRegistry.checkName(of: OCILayoutReference(kind: layout.kind, path: layout.path, tag: name), allowsLatest: destination.allowsLatest)
            return name
        }
    }

    private func withReader<Result: Sendable>(
        _ location: ProviderLocation, _ body: (any CopyReader) async throws(RegistryError) -> Result
    ) async throws(RegistryError) -> Result {
        switch location {
        case .registry(let reference):
            let name = try source.checkedTag(of: reference)
            return try await source.withSession(reference) { session throws(RegistryError) in
                let scope = "repository:\(reference.repository):pull"
                try await session.authenticate(scope: scope)
                return try await body(RegistryReader(client: source, session: session, scope: scope, name: name))
            }
        case .layout(let layout):
            return try await OCIArchiveFile.reading(layout) { folder throws(RegistryError) in
                let opened = try await offload { () throws(RegistryError) in try OCILayout(existingAt: folder) }
                return try await body(LayoutReader(layout: opened, name: layout.tag))
            }
        }
    }

    private func withWriter<Result: Sendable>(
        _ location: ProviderLocation, mountingFrom source: ProviderLocation,
        _ body: (any CopyWriter) async throws(RegistryError) -> Result
    ) async throws(RegistryError) -> Result {
        switch location {
        case .registry(let reference):
            // Within one registry, blobs are mounted from the source's repository when it allows.
            var mountFrom: String?
            if case .registry(let origin) = source, origin.registry == reference.registry, origin.repository != reference.repository {
                mountFrom = origin.repository
            }
            return try await destination.withSession(reference) { session throws(RegistryError) in
                let scope = "repository:\(reference.repository):pull,push"
                try await session.authenticate(scope: scope)
                let uploader = BlobUploader(
                    session: session, repository: reference.repository, scope: scope, chunkSize: destination.chunkSize,
                    monolithic: destination.monolithicPush)
                return try await body(
                    RegistryWriter(client: destination, session: session, scope: scope, uploader: uploader, mountFrom: mountFrom))
            }
        case .layout(let layout):
            return try await LayoutWriter.writing(layout, body)
        }
    }
}

/// One copy under way: the source and destination open, counting what it sends.
private struct CopyRun: Sendable {
    let reader: any CopyReader
    let writer: any CopyWriter
    let policy: VerificationPolicy
    let progress: (@Sendable (UInt64, UInt64) -> Void)?

    func copy(_ root: (bytes: [UInt8], digest: SHA256Hash), naming name: String) async throws(RegistryError) -> CopyResult {
        let (bytes, digest) = root
        var archives: [VerifiedArchive] = []
        var copied = 0
        var existing = 0
        var mounted = 0
        let isIndex = OCIImageIndex.isIndex(bytes)
        let mediaType: String
        if isIndex {
            let index = try OCIImageIndex(parsing: bytes)
            mediaType = (try? JSONValue(parsing: bytes))?["mediaType"]?.stringValue ?? OCIImageIndex.mediaType
            var sliceNames: [(name: String, descriptor: OCIDescriptor, bytes: [UInt8])] = []
            for (entry, (archive, manifestBytes, counts)) in zip(index.manifests, try await copySlices(index.manifests)) {
                archives.append(archive)
                (copied, existing, mounted) = (copied + counts.sent, existing + counts.had, mounted + counts.mounted)
                // A slice the source also tags by itself (TAG-OS-ARCH) is tagged so here too.
                if let platform = entry.platform, try await reader.hasSliceTag(for: entry, platform: platform),
                    let tag = PlatformSliceDescription.sliceTag(name, platform: platform)
                {
                    sliceNames.append((tag, entry.manifest, manifestBytes))
                }
            }
            // Named only once every slice is verified and stored: a failure names nothing.
            for slice in sliceNames { try await writer.name(slice.name, slice.descriptor, bytes: slice.bytes) }
        } else {
            let manifest = try OCIManifest(parsing: bytes)
            mediaType = manifest.mediaType
            let descriptor = OCIDescriptor(mediaType: mediaType, digest: digest, size: UInt64(bytes.count))
            let (archive, _, counts) = try await copyManifest(descriptor, bytes: bytes, listedAs: nil)
            archives.append(archive)
            (copied, existing, mounted) = (copied + counts.sent, existing + counts.had, mounted + counts.mounted)
        }
        // Last: only now does the destination name what was copied.
        try await writer.name(name, OCIDescriptor(mediaType: mediaType, digest: digest, size: UInt64(bytes.count)), bytes: bytes)
        return CopyResult(
            digest: digest, isIndex: isIndex, name: name, archives: archives, copiedBlobs: copied, existingBlobs: existing,
            mountedBlobs: mounted)
    }

    /// How many slices are copied at once: while one is verified (a core's work), the
    /// others download and upload.
    static let concurrentSlices = 2

    /// Copies the manifests of an index, a few at once; the results in the index's order.
    private func copySlices(
        _ entries: [OCIImageIndex.Entry]
    ) async throws(RegistryError) -> [(VerifiedArchive, [UInt8], (sent: Int, had: Int, mounted: Int))] {
        typealias Copied = (VerifiedArchive, [UInt8], (sent: Int, had: Int, mounted: Int))
        do {
            return try await withThrowingTaskGroup(of: (Int, Copied).self) { group in
                var results = [Copied?](repeating: nil, count: entries.count)
                var next = 0
                func start() {
                    guard next < entries.count else { return }
                    let (number, entry) = (next, entries[next])
                    next += 1
                    group.addTask { (number, try await copyManifest(entry.manifest, listedAs: entry)) }
                }
                for _ in 0..<Self.concurrentSlices { start() }
                while let (number, copied) = try await group.next() {
                    results[number] = copied
                    start()
                }
                return results.compactMap { $0 }
            }
        } catch let error as RegistryError {
            throw error
        } catch {
            throw .file(FileError(operation: "copy", path: "", code: Errno.inputOutput))
        }
    }

    /// Copies one manifest: its config, its archive layer (verified from the source's bytes
    /// as a slice of its entry's platform, or as the manifest says), then the manifest.
    private func copyManifest(
        _ descriptor: OCIDescriptor, bytes given: [UInt8]? = nil, listedAs entry: OCIImageIndex.Entry?
    ) async throws(RegistryError) -> (VerifiedArchive, bytes: [UInt8], counts: (sent: Int, had: Int, mounted: Int)) {
        let bytes: [UInt8]
        if let given {
            bytes = given
        } else {
            bytes = try await reader.manifest(descriptor)
        }
        if OCIImageIndex.isIndex(bytes) { throw .nestedIndex(descriptor.digest) }
        let manifest = try OCIManifest(parsing: bytes)
        guard let layer = manifest.archiveLayer else { throw .notAProviderArchive(mediaTypes: manifest.layers.map(\.mediaType)) }
        var sent = 0
        var had = 0
        var mounted = 0
        for other in manifest.layers where other != layer {
            throw .notAProviderArchive(mediaTypes: manifest.layers.map(\.mediaType) + [other.mediaType])
        }
        // The config is read from the source and checked whether or not the destination has it.
        let config = try await reader.smallBlob(manifest.config)
        if try await writer.hasBlob(manifest.config) {
            had += 1
        } else if try await writer.mount(manifest.config) {
            mounted += 1
        } else {
            try await writer.putBlob(bytes: config, as: manifest.config)
            sent += 1
        }
        let check = Self.check(for: manifest, listedAs: entry, policy: policy)
        let staged: StagedBlob
        do throws(RegistryError) {
            staged = try await reader.archive(layer, check: check, progress: progress)
        } catch .invalidArchive(let error) where entry?.platform != nil {
            throw .invalidSlice(platform: entry?.platform?.description ?? "", manifest: descriptor.digest, error)
        }
        defer { staged.discard() }
        if let entry, let platform = entry.platform {
            // A slice is exactly one binary (verifySlice checked), which must be of its entry's platform.
            guard let held = staged.archive.targets.keys.first, platform.matches(held) else {
                throw .slicePlatformMismatch(
                    platform: platform.description, manifest: descriptor.digest, holds: staged.archive.targets.keys.sorted())
            }
        }
        // Verified from the source's bytes above, whether or not they are sent.
        if try await writer.hasBlob(layer) {
            had += 1
        } else if try await writer.mount(layer) {
            mounted += 1
        } else {
            try await writer.putBlob(file: staged.path, as: layer, progress: progress)
            sent += 1
        }
        try await writer.putManifest(bytes, as: descriptor)
        return (staged.archive, bytes, (sent, had, mounted))
    }

    /// How a manifest's archive is checked: a slice when its index entry has a platform or
    /// the manifest names its target (as par's slice manifests do), else a full archive.
    private static func check(
        for manifest: OCIManifest, listedAs entry: OCIImageIndex.Entry?, policy: VerificationPolicy
    ) -> StreamingVerification.Check {
        let annotated = manifest.annotations.first { $0.key == OCIImageIndex.targetAnnotation }.flatMap { try? Target($0.value) }
        let sliceTarget = entry?.target ?? annotated
        if entry?.platform != nil || annotated != nil {
            return { source throws(ProviderArchiveError) in try ProviderArchive.verifySlice(from: source, target: sliceTarget, policy: policy) }
        }
        return { source throws(ProviderArchiveError) in try ProviderArchive.verify(from: source, policy: policy) }
    }
}

/// An archive layer verified and on local disk, ready to send on.
struct StagedBlob: Sendable {
    let path: String
    let archive: VerifiedArchive
    let discard: @Sendable () -> Void
}

/// The side a copy reads from.
protocol CopyReader: Sendable {
    /// What the source's name picks: a manifest or an index, and its digest.
    func root() async throws(RegistryError) -> (bytes: [UInt8], digest: SHA256Hash)
    /// A manifest by its descriptor, checked against its digest.
    func manifest(_ descriptor: OCIDescriptor) async throws(RegistryError) -> [UInt8]
    /// A small blob (a config), checked against its descriptor.
    func smallBlob(_ descriptor: OCIDescriptor) async throws(RegistryError) -> [UInt8]
    /// Whether the source tags an index entry's slice by itself (`TAG-OS-ARCH` naming it).
    func hasSliceTag(for entry: OCIImageIndex.Entry, platform: OCIPlatform) async throws(RegistryError) -> Bool
    /// An archive layer, verified with `check` as it is read and held to its size and digest.
    func archive(
        _ layer: OCIDescriptor, check: @escaping StreamingVerification.Check, progress: (@Sendable (UInt64, UInt64) -> Void)?
    ) async throws(RegistryError) -> StagedBlob
}

/// The side a copy writes to.
protocol CopyWriter: Sendable {
    func hasBlob(_ descriptor: OCIDescriptor) async throws(RegistryError) -> Bool
    /// Has the destination take the blob from the source without sending it, where it can.
    func mount(_ descriptor: OCIDescriptor) async throws(RegistryError) -> Bool
    func putBlob(bytes: [UInt8], as descriptor: OCIDescriptor) async throws(RegistryError)
    func putBlob(file: String, as descriptor: OCIDescriptor, progress: (@Sendable (UInt64, UInt64) -> Void)?) async throws(RegistryError)
    /// Stores a manifest under its digest.
    func putManifest(_ bytes: [UInt8], as descriptor: OCIDescriptor) async throws(RegistryError)
    /// Names the root manifest or index (stored too, for a layout): the copy's last write.
    func name(_ name: String, _ descriptor: OCIDescriptor, bytes: [UInt8]) async throws(RegistryError)
}

// MARK: - Registries

private struct RegistryReader: CopyReader {
    let client: ProviderRegistry
    let session: RegistrySession
    let scope: String
    let name: String

    func root() async throws(RegistryError) -> (bytes: [UInt8], digest: SHA256Hash) {
        let reference = session.reference
        let (body, digest) = try await client.fetchManifest(name, of: reference, session: session, scope: scope)
        if let pinned = reference.digest, pinned != digest {
            throw .digestMismatch(what: "manifest", expected: pinned, actual: digest)
        }
        return (body, digest)
    }

    func manifest(_ descriptor: OCIDescriptor) async throws(RegistryError) -> [UInt8] {
        let (body, digest) = try await client.fetchManifest(descriptor.digest.ociDigest, of: session.reference, session: session, scope: scope)
        guard digest == descriptor.digest else { throw .digestMismatch(what: "manifest", expected: descriptor.digest, actual: digest) }
        return body
    }

    func hasSliceTag(for entry: OCIImageIndex.Entry, platform: OCIPlatform) async throws(RegistryError) -> Bool {
        try await client.sliceTag(of: entry, platform: platform, indexTag: session.reference.tag, session: session, scope: scope) != nil
    }

    func smallBlob(_ descriptor: OCIDescriptor) async throws(RegistryError) -> [UInt8] {
        let answer = try await session.send(
            HTTPRequest(method: .GET, url: session.url("/v2/\(session.reference.repository)/blobs/\(descriptor.digest)")), scope: scope,
            repeatable: true)
        guard answer.status == 200 else {
            throw ProviderRegistry.failure(answer, request: "GET blob", notFound: "the blob \(descriptor.digest)")
        }
        guard UInt64(answer.body.count) == descriptor.size else {
            throw .blobSizeMismatch(digest: descriptor.digest, declared: descriptor.size, received: UInt64(answer.body.count))
        }
        let digest = SHA256Hash.of(answer.body)
        guard digest == descriptor.digest else { throw .digestMismatch(what: "blob", expected: descriptor.digest, actual: digest) }
        return answer.body
    }

    func archive(
        _ layer: OCIDescriptor, check: @escaping StreamingVerification.Check, progress: (@Sendable (UInt64, UInt64) -> Void)?
    ) async throws(RegistryError) -> StagedBlob {
        let folder = System.temporaryFolder
        let pulled = try await client.download(
            layer, from: session, scope: scope, to: .path("\(folder)/par-copy-\(layer.digest.lowercaseHex)"), progress: progress,
            check: check)
        let (download, archive) = try pulled.mapError { RegistryError.invalidArchive($0) }.get()
        return StagedBlob(path: download.path, archive: archive, discard: { download.discard() })
    }
}

struct RegistryWriter: CopyWriter {
    let client: ProviderRegistry
    let session: RegistrySession
    let scope: String
    let uploader: BlobUploader
    /// The source's repository on this registry, to mount blobs from.
    var mountFrom: String? = nil

    func mount(_ descriptor: OCIDescriptor) async throws(RegistryError) -> Bool {
        guard let mountFrom else { return false }
        return await uploader.mount(descriptor.digest, from: mountFrom)
    }

    func hasBlob(_ descriptor: OCIDescriptor) async throws(RegistryError) -> Bool {
        try await uploader.exists(descriptor.digest)
    }

    func putBlob(bytes: [UInt8], as descriptor: OCIDescriptor) async throws(RegistryError) {
        try await uploader.upload(.bytes(bytes), digest: descriptor.digest, size: descriptor.size, progress: nil)
    }

    func putBlob(file: String, as descriptor: OCIDescriptor, progress: (@Sendable (UInt64, UInt64) -> Void)?) async throws(RegistryError) {
        try await uploader.upload(.file(file), digest: descriptor.digest, size: descriptor.size, progress: progress)
    }

    func putManifest(_ bytes: [UInt8], as descriptor: OCIDescriptor) async throws(RegistryError) {
        try await client.putManifest(bytes, mediaType: descriptor.mediaType, at: descriptor.digest.ociDigest, session: session, scope: scope)
    }

    func name(_ name: String, _ descriptor: OCIDescriptor, bytes: [UInt8]) async throws(RegistryError) {
        try await client.putManifest(bytes, mediaType: descriptor.mediaType, at: name, session: session, scope: scope)
    }
}

// MARK: - Layouts

struct LayoutReader: CopyReader {
    let layout: OCILayout
    let name: String?

    func root() async throws(RegistryError) -> (bytes: [UInt8], digest: SHA256Hash) {
        let (layout, name) = (self.layout, self.name)
        return try await offload { () throws(RegistryError) in
            let descriptor = try layout.entry(named: name)
            return (try layout.smallBlob(descriptor, limit: RegistryLimits().maximumAnswerSize), descriptor.digest)
        }
    }

    func manifest(_ descriptor: OCIDescriptor) async throws(RegistryError) -> [UInt8] {
        try await smallBlob(descriptor)
    }

    func hasSliceTag(for entry: OCIImageIndex.Entry, platform: OCIPlatform) async throws(RegistryError) -> Bool {
        guard let name, let tag = PlatformSliceDescription.sliceTag(name, platform: platform) else { return false }
        let layout = self.layout
        return try await offload { () throws(RegistryError) in
            try layout.entries().contains { $0.name == tag && $0.descriptor.digest == entry.manifest.digest }
        }
    }

    func smallBlob(_ descriptor: OCIDescriptor) async throws(RegistryError) -> [UInt8] {
        let layout = self.layout
        return try await offload { () throws(RegistryError) in try layout.smallBlob(descriptor, limit: RegistryLimits().maximumAnswerSize) }
    }

    func archive(
        _ layer: OCIDescriptor, check: @escaping StreamingVerification.Check, progress: (@Sendable (UInt64, UInt64) -> Void)?
    ) async throws(RegistryError) -> StagedBlob {
        let layout = self.layout
        let archive = try await offload { () throws(RegistryError) -> VerifiedArchive in
            let digesting = DigestingSource(try layout.blobSource(layer))
            let verified: VerifiedArchive
            do throws(ProviderArchiveError) {
                verified = try check(digesting)
            } catch {
                throw .invalidArchive(error)
            }
            let (size, digest): (UInt64, SHA256Hash)
            do {
                (size, digest) = try digesting.drain()
            } catch {
                throw .file(error as? FileError ?? FileError(operation: "read", path: layout.blobPath(layer.digest), code: Errno.inputOutput))
            }
            guard size == layer.size else { throw .blobSizeMismatch(digest: layer.digest, declared: layer.size, received: size) }
            guard digest == layer.digest else { throw .digestMismatch(what: "archive layer", expected: layer.digest, actual: digest) }
            return verified
        }
        progress?(layer.size, layer.size)
        return StagedBlob(path: layout.blobPath(layer.digest), archive: archive, discard: {})
    }
}

struct LayoutWriter: CopyWriter {
    let layout: OCILayout

    /// Runs `body` with a writer into `layout` (an `oci-archive:` is staged and merged, see
    /// ``OCIArchiveFile/writing(_:_:)``), made if missing. A layout this made is removed
    /// again if `body` fails while nothing is named in it.
    static func writing<Result: Sendable>(
        _ layout: OCILayoutReference, _ body: (LayoutWriter) async throws(RegistryError) -> Result
    ) async throws(RegistryError) -> Result {
        try await OCIArchiveFile.writing(layout) { folder throws(RegistryError) in
            let existed = (try? System.status(at: folder)) != nil
            do throws(RegistryError) {
                let opened = try await offload { () throws(RegistryError) in try OCILayout.creating(at: folder) }
                return try await body(LayoutWriter(layout: opened))
            } catch {
                if !existed { await offload { OCILayout.removeIfUnnamed(folder) } }
                throw error
            }
        }
    }

    func mount(_ descriptor: OCIDescriptor) async throws(RegistryError) -> Bool { false }

    func hasBlob(_ descriptor: OCIDescriptor) async throws(RegistryError) -> Bool {
        let layout = self.layout
        return await offload { layout.hasIntactBlob(descriptor) }
    }

    func putBlob(bytes: [UInt8], as descriptor: OCIDescriptor) async throws(RegistryError) {
        let layout = self.layout
        try await offload { () throws(RegistryError) in try layout.writeBlob(bytes, as: descriptor) }
    }

    func putBlob(file: String, as descriptor: OCIDescriptor, progress: (@Sendable (UInt64, UInt64) -> Void)?) async throws(RegistryError) {
        let layout = self.layout
        try await offload { () throws(RegistryError) in
            let source: FileSource
            do throws(FileError) {
                source = try FileSource(path: file)
            } catch {
                throw .file(error)
            }
            try layout.writeBlob(descriptor, from: source)
        }
        progress?(descriptor.size, descriptor.size)
    }

    func putManifest(_ bytes: [UInt8], as descriptor: OCIDescriptor) async throws(RegistryError) {
        try await putBlob(bytes: bytes, as: descriptor)
    }

    func name(_ name: String, _ descriptor: OCIDescriptor, bytes: [UInt8]) async throws(RegistryError) {
        let layout = self.layout
        try await offload { () throws(RegistryError) in
            try layout.writeBlob(bytes, as: descriptor)
            try layout.setName(name, for: descriptor)
        }
    }
}
