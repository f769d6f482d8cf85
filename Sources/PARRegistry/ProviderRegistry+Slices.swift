import Foundation
import NIOHTTP1
import PARBytes
import PARClaims
import ProviderArchiveKit

/// Which part of an image index of platform slices a pull takes.
public enum PlatformChoice: Sendable, Equatable {
    /// This machine's slice; a single manifest's archive is taken whole.
    case native
    /// One target's slice; a single manifest's archive must hold that target.
    case target(Target)
    /// Every slice, put back together into the full archive; a single manifest's archive
    /// is taken whole.
    case allTargets
}

/// One platform slice of an image index: its target, the platform its entry names, its
/// manifest and its archive layer.
public struct PlatformSliceDescription: Sendable {
    /// The target the slice holds (for a listing, the one its entry names).
    public let target: Target?
    /// The platform the index entry names.
    public let platform: OCIPlatform
    /// The slice manifest's digest.
    public let manifestDigest: SHA256Hash
    /// The slice's archive layer.
    public let layer: OCIDescriptor
    /// The tag that names the slice's manifest by itself (`TAG-OS-ARCH`), when there is one.
    public var tag: String? = nil

    /// The tag `--slice-tags` gives a slice of an index tagged `indexTag`: the tag, the OS
    /// and the architecture (and variant, when there is one), such as `0.23.0-linux-amd64`,
    /// which a host can pull as a plain manifest. `nil` when that would not be a valid tag.
    ///
    /// - Parameters:
    ///   - indexTag: The index's tag.
    ///   - platform: The slice's platform.
    public static func sliceTag(_ indexTag: String, platform: OCIPlatform) -> String? {
        let tag = ([indexTag, platform.os, platform.architecture] + (platform.variant.map { [$0] } ?? [])).joined(separator: "-")
        return OCILayoutReference.isName(tag) ? tag : nil
    }
}

extension ProviderRegistry {
    /// What a push of platform slices did.
    public struct SlicedPushResult: Sendable {
        /// The reference pushed to.
        public let reference: ImageReference
        /// The tag, which names the index.
        public let tag: String
        /// The image index's digest.
        public let indexDigest: SHA256Hash
        /// One slice per target, in target order.
        public let slices: [PlatformSliceDescription]
        /// Blobs uploaded; blobs the registry already had are skipped.
        public let uploadedBlobs: Int
        /// Blobs the registry already had.
        public let existingBlobs: Int
    }

    /// Verifies an archive, then pushes it as an OCI image index of platform slices, so that
    /// each host downloads only its own binary.
    ///
    /// Each slice (the original claims.jwt byte for byte, world.wasm if any, one target's
    /// binary; compressed as the archive is) is written to a temporary file, verified as a
    /// slice, and pushed as its own image manifest exactly as ``push(archiveAt:to:config:annotations:progress:)``
    /// writes one: the config blob and one archive layer, annotated with its target. Then
    /// the index goes under the tag, each entry carrying the platform a wasmCloud host looks
    /// for (see ``OCIPlatform``) and the target annotation. One slice is on disk at a time,
    /// and memory stays bounded.
    ///
    /// - Parameters:
    ///   - path: The archive file, which must be a full archive.
    ///   - reference: Where to push; needs a tag other than `latest` unless ``allowsLatest``.
    ///   - config: The config blob; `{}` by default.
    ///   - annotations: Annotations of the index and of each slice manifest, in order.
    ///   - sliceTags: Also tag each slice's manifest `TAG-OS-ARCH` (see
    ///     ``PlatformSliceDescription/sliceTag(_:platform:)``), before the index's tag: a host
    ///     that pulls such a tag gets its slice as a plain manifest, and its cache (which keys
    ///     on the manifest's digest) holds.
    ///   - progress: Bytes of the current slice uploaded, and its size.
    /// - Returns: The tag, the index digest and the slices.
    /// - Throws: ``RegistryError``.
    public func pushSlices(
        archiveAt path: String, to reference: ImageReference, config: [UInt8] = Array("{}".utf8),
        annotations: [(key: String, value: String)] = [], sliceTags: Bool = false,
        progress: (@Sendable (UInt64, UInt64) -> Void)? = nil
    ) async throws(RegistryError) -> SlicedPushResult {
        let policy = VerificationPolicy(allowsExpired: false)
        let verify = { @Sendable () throws(RegistryError) -> VerifiedArchive in try Self.verifiedWhole(path, policy: policy) }
        return try await pushing(reference, config: config, verify: verify) { push, archive throws(RegistryError) in
            let writer = RegistryWriter(client: self, session: push.session, scope: push.scope, uploader: push.uploader)
            let written = try await Self.writeSlices(
                of: path, verified: archive, to: writer, tag: push.tag, configBlob: push.configBlob, annotations: annotations,
                sliceTags: sliceTags, policy: policy, progress: progress)
            let uploaded = written.sent + (push.configUploaded ? 1 : 0)
            return SlicedPushResult(
                reference: reference, tag: push.tag, indexDigest: written.indexDigest, slices: written.slices, uploadedBlobs: uploaded,
                existingBlobs: 2 * written.slices.count + 1 - uploaded)
        }
    }

    /// The archive a push of slices cuts, verified whole first.
    static func verifiedWhole(_ path: String, policy: VerificationPolicy) throws(RegistryError) -> VerifiedArchive {
        do throws(ProviderArchiveError) {
            return try ProviderArchive.verify(path: path, policy: policy)
        } catch {
            throw .invalidArchive(error)
        }
    }

    /// Writes each target's slice (blob, then manifest, then its `TAG-OS-ARCH` tag when
    /// asked), then the index under `tag`, last: what a push of slices writes, to a registry
    /// or into a layout.
    static func writeSlices(
        of path: String, verified archive: VerifiedArchive, to writer: any CopyWriter, tag: String, configBlob: OCIDescriptor,
        annotations: [(key: String, value: String)], sliceTags: Bool, policy: VerificationPolicy,
        progress: (@Sendable (UInt64, UInt64) -> Void)?
    ) async throws(RegistryError) -> (indexDigest: SHA256Hash, slices: [PlatformSliceDescription], sent: Int) {
        var sent = 0
        var slices: [PlatformSliceDescription] = []
        var entries: [OCIImageIndex.Entry] = []
        var sliceNames: [(name: String, descriptor: OCIDescriptor, bytes: [UInt8])] = []
        for target in archive.targets.keys.sorted() {
            // Written and verified on a thread of its own; the file is this task's alone after.
            let file = try await offload { () throws(RegistryError) in
                HandedOver(try Self.writeSlice(target, of: path, verified: archive, policy: policy))
            }.value
            defer { file.sink.discard() }
            if try await writer.hasBlob(file.layer) {
                progress?(file.layer.size, file.layer.size)
            } else {
                try await writer.putBlob(file: file.sink.path, as: file.layer, progress: progress)
                sent += 1
            }
            // The target is named on the slice's manifest too; a caller's value for that key yields.
            let named = [(key: OCIImageIndex.targetAnnotation, value: target.name)]
            let own = annotations.filter { $0.key != OCIImageIndex.targetAnnotation }
            let manifest = OCIManifest(config: configBlob, layers: [file.layer], annotations: own + named).serialized
            let descriptor = OCIDescriptor(mediaType: Self.manifestMediaType, digest: .of(manifest), size: UInt64(manifest.count))
            try await writer.putManifest(manifest, as: descriptor)
            let platform = OCIPlatform(target: target)
            let sliceTag = sliceTags ? PlatformSliceDescription.sliceTag(tag, platform: platform) : nil
            if let sliceTag { sliceNames.append((sliceTag, descriptor, manifest)) }
            entries.append(OCIImageIndex.Entry(manifest: descriptor, platform: platform, annotations: named))
            slices.append(
                PlatformSliceDescription(target: target, platform: platform, manifestDigest: descriptor.digest, layer: file.layer, tag: sliceTag))
        }
        // Slice tags once every slice is written, then the index's tag, last.
        for slice in sliceNames { try await writer.name(slice.name, slice.descriptor, bytes: slice.bytes) }
        let index = OCIImageIndex(manifests: entries, annotations: annotations).serialized
        let indexDescriptor = OCIDescriptor(mediaType: OCIImageIndex.mediaType, digest: .of(index), size: UInt64(index.count))
        try await writer.name(tag, indexDescriptor, bytes: index)
        return (indexDescriptor.digest, slices, sent)
    }

    /// Writes one slice to a temporary file that is never renamed into place (a signal
    /// removes it), verifies it as a slice, and returns it with its layer descriptor.
    static func writeSlice(
        _ target: Target, of path: String, verified archive: VerifiedArchive, policy: VerificationPolicy
    ) throws(RegistryError) -> (sink: AtomicFileSink, layer: OCIDescriptor) {
        let folder = System.temporaryFolder
        let name = "\(folder)/par-slice-\(target.name)\(archive.isCompressed ? ".par.gz" : ".par")"
        do throws(ProviderArchiveError) {
            let sink: AtomicFileSink
            do throws(FileError) {
                sink = try AtomicFileSink(destination: name, mode: 0o600)
            } catch {
                throw .file(error)
            }
            let digesting = DigestingSink(sink)
            _ = try ProviderArchive.writeSlice(target, ofArchiveAt: path, verified: archive, to: digesting, policy: policy)
            // Never push what our own verify would refuse.
            _ = try ProviderArchive.verifySlice(path: sink.path, target: target, policy: policy)
            return (sink, OCIDescriptor(mediaType: layerMediaType, digest: digesting.digest, size: digesting.size))
        } catch {
            throw .invalidArchive(error)
        }
    }

    /// The platform slices an image index lists, each manifest fetched for its layer;
    /// `nil` when the reference names a single manifest.
    ///
    /// - Parameter reference: The reference; a tag `latest`, or none, is refused unless
    ///   ``allowsLatest``.
    /// - Returns: The index's digest and its slices, in the index's order.
    /// - Throws: ``RegistryError``.
    public func platformSlices(
        of reference: ImageReference
    ) async throws(RegistryError) -> (indexDigest: SHA256Hash, slices: [PlatformSliceDescription])? {
        let name = try checkedTag(of: reference)
        return try await withSession(reference) { session throws(RegistryError) in
            let scope = "repository:\(reference.repository):pull"
            try await session.authenticate(scope: scope)
            let (body, digest) = try await fetchManifest(name, of: reference, session: session, scope: scope)
            if let pinned = reference.digest, pinned != digest {
                throw .digestMismatch(what: "manifest", expected: pinned, actual: digest)
            }
            guard OCIImageIndex.isIndex(body) else { return nil }
            var slices: [PlatformSliceDescription] = []
            for entry in try OCIImageIndex(parsing: body).manifests {
                guard let platform = entry.platform else { continue }
                let (_, layer) = try await sliceManifest(entry, session: session, scope: scope)
                let tag = try await sliceTag(of: entry, platform: platform, indexTag: reference.tag, session: session, scope: scope)
                slices.append(
                    PlatformSliceDescription(target: entry.target, platform: platform, manifestDigest: entry.manifest.digest, layer: layer, tag: tag))
            }
            return (digest, slices)
        }
    }

    // MARK: - Pulling from an index

    /// Pulls from an image index: the chosen slice, or every slice put back together.
    func pull(
        _ index: OCIImageIndex, digest indexDigest: SHA256Hash, session: RegistrySession, scope: String, to destination: PullDestination,
        expectedDigest: SHA256Hash?, policy: VerificationPolicy, platform choice: PlatformChoice,
        progress: (@Sendable (UInt64, UInt64) -> Void)?
    ) async throws(RegistryError) -> PullResult {
        let chosen = try ChosenSlice.all(of: index, digest: indexDigest, for: choice, expectedDigest: expectedDigest)
        guard case .allTargets = choice else {
            let (download, slice) = try await pullSlice(chosen[0], session: session, scope: scope, to: destination, policy: policy, progress: progress)
            do throws(FileError) {
                try download.commit()
            } catch {
                throw .file(error)
            }
            return PullResult(
                manifestDigest: indexDigest, layerDigest: slice.description.layer.digest, path: download.destination,
                archive: slice.archive, slices: [slice.description])
        }
        var downloads: [BlobDownload] = []
        defer { for download in downloads { download.discard() } }
        var slices: [PlatformSliceDescription] = []
        var compressed = false
        for (number, slice) in chosen.enumerated() {
            let scratch = PullDestination.path(destination.path(compressed: false) + ".slice-\(number)")
            let (download, pulled) = try await pullSlice(slice, session: session, scope: scope, to: scratch, policy: policy, progress: progress)
            downloads.append(download)
            slices.append(pulled.description)
            if downloads.count == 1 { compressed = pulled.archive.isCompressed }
        }
        let (path, archive, digest) = try await ChosenSlice.assemble(
            downloads.map(\.path), compressed: compressed, into: destination, policy: policy)
        return PullResult(manifestDigest: indexDigest, layerDigest: digest, path: path, archive: archive, slices: slices)
    }

    /// Fetches one slice's manifest, downloads its layer, and verifies it as the slice of
    /// the target chosen and the platform it is listed under.
    private func pullSlice(
        _ slice: ChosenSlice, session: RegistrySession, scope: String, to destination: PullDestination, policy: VerificationPolicy,
        progress: (@Sendable (UInt64, UInt64) -> Void)?
    ) async throws(RegistryError) -> (BlobDownload, (description: PlatformSliceDescription, archive: VerifiedArchive)) {
        let (_, layer) = try await sliceManifest(slice.entry, session: session, scope: scope)
        let pulled = try await self.download(layer, from: session, scope: scope, to: destination, progress: progress, check: slice.check(policy))
        let (download, archive) = try pulled.mapError(slice.refused).get()
        do throws(RegistryError) {
            return (download, (try slice.describe(archive, layer: layer), archive))
        } catch {
            download.discard()
            throw error
        }
    }

    /// Fetches a slice's manifest by digest: it must hash to the entry's digest and be an
    /// image manifest (not an index) with an archive layer.
    private func sliceManifest(
        _ entry: OCIImageIndex.Entry, session: RegistrySession, scope: String
    ) async throws(RegistryError) -> (OCIManifest, OCIDescriptor) {
        let (body, digest) = try await fetchManifest(entry.manifest.digest.ociDigest, of: session.reference, session: session, scope: scope)
        guard digest == entry.manifest.digest else {
            throw .digestMismatch(what: "slice manifest", expected: entry.manifest.digest, actual: digest)
        }
        if OCIImageIndex.isIndex(body) { throw .nestedIndex(digest) }
        let manifest = try OCIManifest(parsing: body)
        guard let layer = manifest.archiveLayer else { throw .notAProviderArchive(mediaTypes: manifest.layers.map(\.mediaType)) }
        return (manifest, layer)
    }

    /// The slice tag of an index entry (`TAG-OS-ARCH`), when the registry has it and it
    /// names the entry's manifest (one manifest HEAD); `nil` otherwise.
    func sliceTag(
        of entry: OCIImageIndex.Entry, platform: OCIPlatform, indexTag: String?, session: RegistrySession, scope: String
    ) async throws(RegistryError) -> String? {
        guard let indexTag, let tag = PlatformSliceDescription.sliceTag(indexTag, platform: platform) else { return nil }
        let url = session.url("/v2/\(session.reference.repository)/manifests/\(tag)")
        let head = try await session.send(
            HTTPRequest(method: .HEAD, url: url, headers: [("Accept", Self.acceptedManifestTypes)]), scope: scope, repeatable: true)
        guard head.status == 200 else {
            if head.status == 404 { return nil }
            throw Self.failure(head, request: "HEAD manifest", notFound: tag)
        }
        let digest = head.header("Docker-Content-Digest").flatMap(SHA256Hash.init(ociDigest:))
        return digest == entry.manifest.digest ? tag : nil
    }
}

/// A slice an index pull takes: its entry, the platform it is listed under, and the target
/// its archive must hold (`nil`: whichever its platform allows). Registry and layout pulls
/// choose, check and put slices together through it alike.
struct ChosenSlice: Sendable {
    let entry: OCIImageIndex.Entry
    let platform: OCIPlatform
    let target: Target?

    /// The slices a pull of an index takes for `choice`: this machine's or a target's (one),
    /// or every entry with a platform. `expectedDigest` must be the index's, or the one
    /// slice's manifest's.
    static func all(
        of index: OCIImageIndex, digest indexDigest: SHA256Hash, for choice: PlatformChoice, expectedDigest: SHA256Hash?
    ) throws(RegistryError) -> [ChosenSlice] {
        let wanted: Target
        switch choice {
        case .native: wanted = .native
        case .target(let target): wanted = target
        case .allTargets:
            if let expectedDigest, expectedDigest != indexDigest {
                throw .digestMismatch(what: "index", expected: expectedDigest, actual: indexDigest)
            }
            // An entry without a platform is not a slice (oci-client skips those too).
            return index.manifests.compactMap { entry in entry.platform.map { ChosenSlice(entry: entry, platform: $0, target: entry.target) } }
        }
        guard let entry = index.entry(for: wanted), let platform = entry.platform else {
            throw .noSliceForTarget(wanted, available: index.manifests.compactMap(label))
        }
        if let expectedDigest, expectedDigest != indexDigest, expectedDigest != entry.manifest.digest {
            throw .digestMismatch(what: "index (or slice manifest)", expected: expectedDigest, actual: indexDigest)
        }
        return [ChosenSlice(entry: entry, platform: platform, target: wanted)]
    }

    /// How the slice's archive is verified as it is read: as a slice of the chosen target.
    func check(_ policy: VerificationPolicy) -> StreamingVerification.Check {
        let target = self.target
        return { source throws(ProviderArchiveError) in try ProviderArchive.verifySlice(from: source, target: target, policy: policy) }
    }

    /// The error for a slice whose archive verification refused.
    func refused(_ error: ProviderArchiveError) -> RegistryError {
        .invalidSlice(platform: platform.description, manifest: entry.manifest.digest, error)
    }

    /// Describes a verified slice, once its one binary (verifySlice checked there is one) is
    /// found to be of the platform it is listed under.
    func describe(_ archive: VerifiedArchive, layer: OCIDescriptor) throws(RegistryError) -> PlatformSliceDescription {
        guard let held = archive.targets.keys.first, platform.matches(held) else {
            throw .slicePlatformMismatch(platform: platform.description, manifest: entry.manifest.digest, holds: archive.targets.keys.sorted())
        }
        return PlatformSliceDescription(target: held, platform: platform, manifestDigest: entry.manifest.digest, layer: layer)
    }

    /// Puts verified slice files together into the archive at `destination` (compressed as
    /// the slices are), verified whole before it is renamed into place, on a thread of its
    /// own: the path, what verification found, and the written file's digest.
    static func assemble(
        _ parts: [String], compressed: Bool, into destination: PullDestination, policy: VerificationPolicy
    ) async throws(RegistryError) -> (path: String, archive: VerifiedArchive, digest: SHA256Hash) {
        let path = destination.path(compressed: compressed)
        return try await offload { () throws(RegistryError) -> (String, VerifiedArchive, SHA256Hash) in
            do throws(ProviderArchiveError) {
                let archive = try ProviderArchive.assemble(slicesAt: parts, to: path, policy: policy)
                do throws(ProviderArchiveError) {
                    return (path, archive, try digest(ofFileAt: path))
                } catch {
                    System.unlink(path)
                    throw error
                }
            } catch {
                throw .invalidArchive(error)
            }
        }
    }

    /// The SHA-256 of a file, read in one pass.
    private static func digest(ofFileAt path: String) throws(ProviderArchiveError) -> SHA256Hash {
        do {
            return try DigestingSource.digest(of: FileSource(path: path)).hash
        } catch let error as FileError {
            throw .file(error)
        } catch {
            throw .stream(String(describing: error))
        }
    }

    /// How an entry is named in a message: its platform and, when annotated, its target.
    private static func label(_ entry: OCIImageIndex.Entry) -> String? {
        guard let platform = entry.platform else { return nil }
        return entry.target.map { "\(platform) (\($0))" } ?? platform.description
    }
}
