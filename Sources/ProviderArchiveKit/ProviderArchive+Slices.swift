import PARBytes
import PARClaims
import PARContainer

// MARK: - Platform slices

/// A platform slice is a provider archive holding the original signed claims.jwt byte for
/// byte, world.wasm when the claims name one, and one target's binary. It is what a host of
/// that platform loads (the reference's `try_load_target_from_file` hashes only the target
/// it asked for), so an OCI image index of slices lets each host download only its own
/// binary. A slice is never taken for a full archive: ``verify(path:requiredTargets:policy:progress:)``
/// refuses one with ``ProviderArchiveError/platformSlice(_:signedTargets:)``.
extension ProviderArchive {
    /// Verifies a platform slice: signature, policy, the one binary's hash against the
    /// signed claims, world.wasm when signed, and that it holds exactly one binary.
    ///
    /// - Parameters:
    ///   - path: The slice's path.
    ///   - target: The target the slice must hold, when known (from an image index).
    ///   - policy: Trusted issuers, expiry and the validation time.
    ///   - progress: Called as the file is read, with bytes read and the file's size.
    /// - Returns: What verification found; its ``VerifiedArchive/kind`` says how many targets
    ///   the claims sign.
    /// - Throws: ``ProviderArchiveError/notASlice(targets:)`` for an archive of several
    ///   binaries, ``ProviderArchiveError/wrongSliceTarget(expected:actual:)``, or any
    ///   error a full verification throws.
    public static func verifySlice(
        path: String, target: Target? = nil, policy: VerificationPolicy = .default, progress: ProgressHandler? = nil
    ) throws(ProviderArchiveError) -> VerifiedArchive {
        try verifySlice(from: try openArchiveFile(path, progress: progress), target: target, policy: policy)
    }

    /// Verifies a platform slice read from a byte stream.
    ///
    /// - Parameters:
    ///   - source: The slice's bytes, read once.
    ///   - target: The target the slice must hold, when known.
    ///   - policy: Trusted issuers, expiry and the validation time.
    /// - Returns: What verification found.
    /// - Throws: ``ProviderArchiveError`` naming the first check that failed.
    public static func verifySlice(
        from source: any ByteSource, target: Target? = nil, policy: VerificationPolicy = .default
    ) throws(ProviderArchiveError) -> VerifiedArchive {
        try ArchiveReader(source, mode: .verifying(policy)).finish(.slice(target))
    }

    /// Writes the platform slice of one target of an archive file: its claims.jwt unchanged,
    /// world.wasm if any, and the target's binary, compressed as the archive is. Streams, so
    /// memory does not grow with the archive; the file is read and checked again as it is
    /// copied, so a file that changed since `archive` was verified is refused.
    ///
    /// - Parameters:
    ///   - target: The target to keep.
    ///   - path: The archive file.
    ///   - archive: What verifying that file found.
    ///   - sink: Where the slice goes; not closed.
    ///   - policy: Trusted issuers, expiry and the validation time.
    /// - Returns: What the slice holds.
    /// - Throws: ``ProviderArchiveError``; ``ProviderArchiveError/fileChanged(_:)`` when the
    ///   file no longer holds `archive`'s claims.
    public static func writeSlice(
        _ target: Target, ofArchiveAt path: String, verified archive: VerifiedArchive, to sink: any ByteSink,
        policy: VerificationPolicy = .default
    ) throws(ProviderArchiveError) -> VerifiedArchive {
        guard archive.targets[target] != nil else { throw .targetNotFound(target, available: archive.targets.keys.sorted()) }
        do {
            let reader = try ArchiveReader(try openArchiveFile(path), mode: .verifying(policy))
            let writer = try ArchiveWriter(sink, compression: reader.isCompressed ? .gzip : .none)
            // Claims first, whatever the archive's order: a reader checks them before a binary arrives.
            try writer.write(.claims, contents: Array(archive.token.encoded.utf8))
            while let entry = try reader.next() {
                switch entry.name {
                case .claims:
                    guard reader.token == archive.token else { throw ProviderArchiveError.fileChanged(path) }
                case .world, .binary(target):
                    try writer.begin(entry.name, size: entry.size)
                    try reader.forEachChunk { try writer.write($0) }
                case .binary:
                    continue
                }
            }
            let whole = try reader.finish(.full(requiredTargets: [target]))
            guard whole.token == archive.token, let binary = whole.targets[target] else {
                throw ProviderArchiveError.fileChanged(path)
            }
            try writer.finish()
            return VerifiedArchive(token: whole.token, targets: [target: binary], world: whole.world, isCompressed: whole.isCompressed)
        } catch {
            throw .wrapping(error)
        }
    }

    /// Puts platform slices back together into the full archive: each slice is verified, all
    /// must carry the same claims.jwt and together hold every signed target once. The archive
    /// is written (compressed as the first slice is), verified whole, and only then appears
    /// at `destination`; on any failure nothing is left there.
    ///
    /// - Parameters:
    ///   - paths: The slices, in any order.
    ///   - destination: Where the archive goes; none of the slices.
    ///   - policy: Trusted issuers, expiry and the validation time.
    /// - Returns: What verifying the written archive found.
    /// - Throws: ``ProviderArchiveError``: ``ProviderArchiveError/slicesDisagree(_:)``,
    ///   ``ProviderArchiveError/duplicateSlice(_:)``, ``ProviderArchiveError/missingTarget(_:)``
    ///   for a target no slice holds, or what verifying a slice threw.
    public static func assemble(
        slicesAt paths: [String], to destination: String, policy: VerificationPolicy = .default
    ) throws(ProviderArchiveError) -> VerifiedArchive {
        guard !paths.isEmpty else { throw .noTargets }
        if let input = paths.first(where: { FileSource.isSameFile($0, destination) }) { throw .destinationIsInput(input) }
        var slices: [(path: String, target: Target)] = []
        var first: VerifiedArchive?
        for path in paths {
            let slice = try verifySlice(path: path, policy: policy)
            guard let target = slice.targets.keys.first else { throw .noTargets }
            if let first, first.token.encoded != slice.token.encoded { throw .slicesDisagree(path) }
            if slices.contains(where: { $0.target == target }) { throw .duplicateSlice(target) }
            first = first ?? slice
            slices.append((path, target))
        }
        guard let first else { throw .noTargets }
        if let missing = first.signedTargets.first(where: { target in !slices.contains { $0.target == target } }) {
            throw .missingTarget(missing)
        }
        do {
            let output = try AtomicFileSink(destination: destination, mode: 0o644)
            let writer = try ArchiveWriter(output, compression: first.isCompressed ? .gzip : .none)
            try writer.write(.claims, contents: Array(first.token.encoded.utf8))
            if first.world != nil { try copy(.world, from: slices[0].path, claims: first.token, policy: policy, into: writer) }
            for slice in slices.sorted(by: { $0.target < $1.target }) {
                try copy(.binary(slice.target), from: slice.path, claims: first.token, policy: policy, into: writer)
            }
            try writer.finish()
            // Never put in place what our own verify would refuse.
            let whole = try verify(path: output.path, policy: policy)
            try output.commit()
            return whole
        } catch {
            throw .wrapping(error)
        }
    }

    /// Copies one entry of a slice into an archive being written, the slice read and checked
    /// again on the way (it must still carry `claims`).
    private static func copy(
        _ name: ArchiveEntryName, from path: String, claims: ClaimsToken, policy: VerificationPolicy, into writer: ArchiveWriter
    ) throws {
        let reader = try ArchiveReader(try openArchiveFile(path), mode: .verifying(policy))
        while let entry = try reader.next() {
            if entry.name == .claims, reader.token != claims { throw ProviderArchiveError.fileChanged(path) }
            guard entry.name == name else { continue }
            try writer.begin(name, size: entry.size)
            try reader.forEachChunk { try writer.write($0) }
        }
        _ = try reader.finish(.slice(nil))
    }
}
