import Foundation
import PARBytes
import PARClaims
import ProviderArchiveKit

/// Pulling from and pushing to OCI image layouts (`oci:`, `oci-archive:`), as from and to a
/// registry: the same shapes, the same verification, the same choice of slice.
extension ProviderRegistry {
    /// Pulls an archive out of an image layout, as ``pull(_:to:expectedDigest:policy:platform:progress:)``
    /// does from a registry: the entry the layout's name picks (or its only one), this
    /// machine's slice of an index (or `platform`'s, or every slice put back together),
    /// verified from the layout's bytes, and written to `destination` only once verified.
    ///
    /// - Parameters:
    ///   - layout: The layout and the name of its entry; without one, it must hold one entry.
    ///   - destination: Where to write the archive.
    ///   - expectedDigest: The manifest (or index, or slice) digest to require.
    ///   - policy: How to verify the archive.
    ///   - platform: Which slice of an image index to take.
    ///   - allowsLatest: Accept an entry named `latest` (see ``checkName(of:allowsLatest:)``).
    /// - Returns: The digests, the path, and what verification found.
    /// - Throws: ``RegistryError``; nothing is left at `destination` on failure.
    public static func pull(
        fromLayout layout: OCILayoutReference, to destination: PullDestination, expectedDigest: SHA256Hash? = nil,
        policy: VerificationPolicy = .default, platform: PlatformChoice = .native, allowsLatest: Bool = false
    ) async throws(RegistryError) -> PullResult {
        try checkName(of: layout, allowsLatest: allowsLatest)
        return try await OCIArchiveFile.reading(layout) { folder throws(RegistryError) in
            let opened = try await offload { () throws(RegistryError) in try OCILayout(existingAt: folder) }
            let reader = LayoutReader(layout: opened, name: layout.tag)
            let (bytes, digest) = try await reader.root()
            guard OCIImageIndex.isIndex(bytes) else {
                if let expectedDigest, expectedDigest != digest {
                    throw .digestMismatch(what: "manifest", expected: expectedDigest, actual: digest)
                }
                let manifest = try OCIManifest(parsing: bytes)
                guard let layer = manifest.archiveLayer else { throw .notAProviderArchive(mediaTypes: manifest.layers.map(\.mediaType)) }
                let staged = try await reader.archive(
                    layer, check: { source throws(ProviderArchiveError) in try verifyPulled(source, manifest: manifest, platform: platform, policy: policy) },
                    progress: nil)
                let path = try await write(staged, layer: layer, to: destination)
                return PullResult(manifestDigest: digest, layerDigest: layer.digest, path: path, archive: staged.archive, slices: [])
            }
            let chosen = try ChosenSlice.all(of: try OCIImageIndex(parsing: bytes), digest: digest, for: platform, expectedDigest: expectedDigest)
            var slices: [(PlatformSliceDescription, StagedBlob)] = []
            for slice in chosen { slices.append(try await stage(slice, from: reader, policy: policy)) }
            guard case .allTargets = platform else {
                let (slice, staged) = slices[0]
                let path = try await write(staged, layer: slice.layer, to: destination)
                return PullResult(manifestDigest: digest, layerDigest: slice.layer.digest, path: path, archive: staged.archive, slices: [slice])
            }
            let (path, archive, fileDigest) = try await ChosenSlice.assemble(
                slices.map(\.1.path), compressed: slices.first?.1.archive.isCompressed ?? false, into: destination, policy: policy)
            return PullResult(manifestDigest: digest, layerDigest: fileDigest, path: path, archive: archive, slices: slices.map(\.0))
        }
    }

    /// Reads a chosen slice's manifest and verifies its archive in the layout.
    private static func stage(
        _ slice: ChosenSlice, from reader: LayoutReader, policy: VerificationPolicy
    ) async throws(RegistryError) -> (PlatformSliceDescription, StagedBlob) {
        let manifestBytes = try await reader.manifest(slice.entry.manifest)
        if OCIImageIndex.isIndex(manifestBytes) { throw .nestedIndex(slice.entry.manifest.digest) }
        let manifest = try OCIManifest(parsing: manifestBytes)
        guard let layer = manifest.archiveLayer else { throw .notAProviderArchive(mediaTypes: manifest.layers.map(\.mediaType)) }
        let staged: StagedBlob
        do throws(RegistryError) {
            staged = try await reader.archive(layer, check: slice.check(policy), progress: nil)
        } catch .invalidArchive(let error) {
            throw slice.refused(error)
        }
        return (try slice.describe(staged.archive, layer: layer), staged)
    }

    /// The digest of the manifest (or index) a layout's name picks (or its only entry).
    ///
    /// - Parameters:
    ///   - layout: The layout and the entry's name.
    ///   - allowsLatest: Accept an entry named `latest` (see ``checkName(of:allowsLatest:)``).
    /// - Returns: The entry's digest.
    /// - Throws: ``RegistryError``.
    public static func resolve(layout: OCILayoutReference, allowsLatest: Bool = false) async throws(RegistryError) -> SHA256Hash {
        try checkName(of: layout, allowsLatest: allowsLatest)
        return try await OCIArchiveFile.reading(layout) { folder throws(RegistryError) in
            try await offload { () throws(RegistryError) in try OCILayout(existingAt: folder).entry(named: layout.tag).digest }
        }
    }

    /// What a push into a layout wrote.
    public struct LayoutPushResult: Sendable {
        /// The name given to it in `index.json`.
        public let name: String
        /// The digest of the manifest, or of the index of slices.
        public let digest: SHA256Hash
        /// The slices, for a push of platform slices; empty otherwise.
        public let slices: [PlatformSliceDescription]
    }

    /// Verifies an archive file and writes it into an image layout in the shape
    /// ``push(archiveAt:to:config:annotations:progress:)`` gives a registry (a config blob,
    /// one archive layer, a manifest), or as ``pushSlices(archiveAt:to:config:annotations:sliceTags:progress:)``
    /// does (a slice per target, an index); the name in `index.json` is written last. A
    /// layout this push made is removed again if it fails.
    ///
    /// - Parameters:
    ///   - path: The archive file.
    ///   - layout: The layout and the name to give; a name is required.
    ///   - config: The config blob; `{}` by default.
    ///   - annotations: Manifest (and index) annotations.
    ///   - platformSlices: Write platform slices and an index of them.
    ///   - sliceTags: With `platformSlices`, also name each slice `NAME-OS-ARCH`.
    ///   - allowsLatest: Accept the name `latest` (see ``checkName(of:allowsLatest:)``).
    /// - Returns: The name and digest written.
    /// - Throws: ``RegistryError``.
    public static func push(
        archiveAt path: String, toLayout layout: OCILayoutReference, config: [UInt8] = Array("{}".utf8),
        annotations: [(key: String, value: String)] = [], platformSlices: Bool = false, sliceTags: Bool = false,
        allowsLatest: Bool = false
    ) async throws(RegistryError) -> LayoutPushResult {
        guard let name = layout.tag else { throw .invalidLayout(path: layout.path, problem: .destinationNameNeeded) }
        try checkName(of: layout, allowsLatest: allowsLatest)
        let policy = VerificationPolicy(allowsExpired: false)
        return try await LayoutWriter.writing(layout) { writer throws(RegistryError) in
            let configBlob = configDescriptor(config)
            try await writer.putBlob(bytes: config, as: configBlob)
            if platformSlices {
                let archive = try await offload { () throws(RegistryError) in try verifiedWhole(path, policy: policy) }
                let written = try await writeSlices(
                    of: path, verified: archive, to: writer, tag: name, configBlob: configBlob, annotations: annotations,
                    sliceTags: sliceTags, policy: policy, progress: nil)
                return LayoutPushResult(name: name, digest: written.indexDigest, slices: written.slices)
            }
            let layer = try await offload { () throws(RegistryError) in try Self.layer(ofArchiveAt: path) }
            try await writer.putBlob(file: path, as: layer, progress: nil)
            let manifest = OCIManifest(config: configBlob, layers: [layer], annotations: annotations).serialized
            let descriptor = OCIDescriptor(mediaType: manifestMediaType, digest: .of(manifest), size: UInt64(manifest.count))
            try await writer.name(name, descriptor, bytes: manifest)
            return LayoutPushResult(name: name, digest: descriptor.digest, slices: [])
        }
    }

    /// Copies a verified layer out of the layout to the destination, under a temporary name
    /// renamed into place once the bytes match the layer's digest again.
    private static func write(_ staged: StagedBlob, layer: OCIDescriptor, to destination: PullDestination) async throws(RegistryError) -> String {
        let path = destination.path(compressed: staged.archive.isCompressed)
        try await offload { () throws(RegistryError) in
            do {
                let sink = try AtomicFileSink(destination: path, mode: 0o644)
                do {
                    let digesting = DigestingSource(try FileSource(path: staged.path))
                    try digesting.forEachChunk { try sink.write($0) }
                    guard digesting.size == layer.size, digesting.digest == layer.digest else {
                        throw RegistryError.digestMismatch(what: "archive layer", expected: layer.digest, actual: digesting.digest)
                    }
                    try sink.commit()
                } catch {
                    sink.discard()
                    throw error
                }
            } catch let error as RegistryError {
                throw error
            } catch let error as FileError {
                throw .file(error)
            } catch {
                throw .file(FileError(operation: "write", path: path, code: Errno.inputOutput))
            }
        }
        return path
    }
}
