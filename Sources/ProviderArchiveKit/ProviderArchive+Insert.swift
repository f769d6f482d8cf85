import PARBytes
import PARClaims
import PARNKeys

extension ProviderArchive {
    /// Adds or replaces one target's binary in an archive file and re-signs it, in place.
    ///
    /// The archive is rewritten by streaming its entries through (every hash checked as it
    /// passes, as ``verify(path:requiredTargets:policy:progress:)`` does) into a temporary file beside
    /// it, which replaces it only when complete: memory stays bounded whatever the sizes,
    /// and any failure leaves the archive as it was. An exclusive lock on the archive is held
    /// from the first read to the rename, so concurrent inserts (from CI jobs building one
    /// target each) run one after the other and none is lost. The new file keeps the old
    /// one's mode, owner and group and its compression; a symbolic link is followed and stays.
    ///
    /// The new claims keep the old metadata (name, vendor, version, revision, schema,
    /// world.wasm) and hashes, with the target's hash added or replaced.
    ///
    /// - Parameters:
    ///   - binaryPath: The binary to add: a regular file.
    ///   - target: Its target.
    ///   - archivePath: The archive to change.
    ///   - policy: What the old archive must satisfy; by default expired claims are accepted,
    ///     since they are signed anew.
    ///   - signingKeys: Given the old archive's verified claims, the account key to sign
    ///     with and the provider's service key. Called once, under the lock.
    ///   - onWait: Called once, before waiting, when another process holds the archive's lock.
    ///   - progress: Called as bytes are read and written, with bytes done and bytes in all.
    /// - Returns: What was written.
    /// - Throws: ``ProviderArchiveError``, or the error `signingKeys` threw.
    @discardableResult
    public static func insert(
        binaryAt binaryPath: String, for target: Target, intoArchiveAt archivePath: String,
        policy: VerificationPolicy = VerificationPolicy(allowsExpired: true),
        signingKeys: (ProviderClaims) throws -> (issuer: NKeyPair, subject: NKeyPair),
        onWait: (() -> Void)? = nil, progress: ProgressHandler? = nil
    ) throws -> WrittenArchive {
        // The file a link points to is replaced; the link stays.
        let path = System.resolvingLinks(archivePath)
        guard !FileSource.isSameFile(binaryPath, path) else { throw ProviderArchiveError.destinationIsInput(archivePath) }
        let binary = try openBinaryFile(binaryPath)
        // Rewritten in place under a lock: only a regular file can be.
        let archive = try openArchiveFile(path)
        if let kind = archive.specialFileKind {
            throw ProviderArchiveError.file(FileError(operation: "update", path: archivePath, code: Errno.invalidArgument, kind: kind))
        }
        let archiveSize = archive.size ?? 0
        let counter = ByteCounter(total: 2 * (binary.size ?? 0) + archiveSize, handler: progress)
        let expected = try hashFile(binary, counter: counter)
        do throws(any Error) {
            let lock = try FileLock(path: path, onWait: onWait)
            let output = try AtomicFileSink(replacing: path, keeping: try lock.contents().ownership())
            let keys = { (old: ProviderClaims) throws in
                do {
                    return try signingKeys(old)
                } catch {
                    throw SigningKeysFailure(error: error)
                }
            }
            var rewrite = Rewrite(target: target, binary: expected, output: output, counter: counter)
            let copied: VerifiedArchive
            if let first = try rewrite.run(try lock.contents(), policy: policy, knownToken: nil, signingKeys: keys) {
                copied = first
            } else {
                // Binaries before claims.jwt: verify first (nothing is kept), then stream
                // through with the claims known. Nothing was written to `output` yet.
                let verified = try ProviderArchive.verify(from: try lock.contents(), policy: policy)
                guard
                    let second = try rewrite.run(
                        try lock.contents(), policy: policy, knownToken: verified.token, signingKeys: keys)
                else {
                    throw ProviderArchiveError.fileChanged(path)
                }
                copied = second
            }
            guard let writer = rewrite.writer, let token = rewrite.token else { throw ProviderArchiveError.missingClaims }
            try writer.begin(.binary(target), size: expected.size)
            try copyBinary(from: openBinaryFile(binaryPath), at: binaryPath, expecting: expected, into: writer, counter: counter)
            try writer.finish()
            try output.commit()
            var targets = copied.targets
            targets[target] = expected
            return WrittenArchive(
                path: path, token: token, targets: targets, world: copied.world,
                compression: copied.isCompressed ? .gzip : .none)
        } catch let failure as SigningKeysFailure {
            throw failure.error
        } catch {
            throw ProviderArchiveError.wrapping(error)
        }
    }
}

/// One streaming pass of an insert: the old archive's entries, read and checked, into a new
/// archive that starts with the new claims.
private struct Rewrite {
    let target: Target
    let binary: ArchiveEntryInfo
    let output: any ByteSink
    let counter: ByteCounter

    /// The new archive, once its claims are written.
    private(set) var writer: ArchiveWriter?
    /// The new claims.
    private(set) var token: ClaimsToken?

    /// Copies every entry of `source` but the replaced binary (which is still read and
    /// checked) after the new claims. With `knownToken` (from a verify pass) the new claims
    /// are written at once; without, when the old claims.jwt is read. `signingKeys` gives the
    /// keys to sign the new claims with, from the old ones.
    ///
    /// - Returns: What the old archive held; `nil` when a binary came before claims.jwt
    ///   without `knownToken`, having written nothing.
    mutating func run(
        _ source: FileSource, policy: VerificationPolicy, knownToken: ClaimsToken?,
        signingKeys: (ProviderClaims) throws -> (issuer: NKeyPair, subject: NKeyPair)
    ) throws -> VerifiedArchive? {
        let reader = try ArchiveReader(TappedSource(source) { [counter] in counter.add($0.count) }, mode: .verifying(policy))
        if let knownToken { try begin(from: knownToken, isCompressed: reader.isCompressed, signingKeys: signingKeys) }
        while let entry = try reader.next() {
            switch entry.name {
            case .claims:
                guard let old = reader.token else { throw ProviderArchiveError.missingClaims }
                if let knownToken {
                    // The archive the verify pass read (the lock keeps par out; this keeps
                    // anything else out).
                    guard old == knownToken else { throw ProviderArchiveError.fileChanged(source.path) }
                } else {
                    try begin(from: old, isCompressed: reader.isCompressed, signingKeys: signingKeys)
                }
            case .world, .binary:
                guard let writer else { return nil }
                // The replaced binary is still read and checked by the reader, then dropped.
                guard entry.name != .binary(target) else { continue }
                try writer.begin(entry.name, size: entry.size)
                try reader.forEachChunk { try writer.write($0) }
            }
        }
        return try reader.finish(.full(requiredTargets: []))
    }

    /// Signs the new claims (the old metadata with the target's new hash) and starts the new
    /// archive with them.
    private mutating func begin(
        from old: ClaimsToken, isCompressed: Bool, signingKeys: (ProviderClaims) throws -> (issuer: NKeyPair, subject: NKeyPair)
    ) throws {
        let keys = try signingKeys(old.claims)
        var metadata = old.claims.metadata
        metadata.targetHashes[target] = binary.hash
        // Never write what a reader refuses: checked before a byte is written.
        let limit = ArchiveReader.maximumTargets(withWorld: metadata.worldHash != nil)
        guard metadata.targetHashes.count <= limit else {
            throw ProviderArchiveError.tooManyTargets(count: metadata.targetHashes.count, limit: limit)
        }
        let token = try metadata.signed(issuer: keys.issuer, subject: keys.subject)
        let writer = try ArchiveWriter(output, compression: isCompressed ? .gzip : .none)
        try writer.writeClaims(token)
        self.token = token
        self.writer = writer
    }
}

/// The caller's key lookup failed; its error is passed on unchanged.
private struct SigningKeysFailure: Error {
    let error: any Error
}

