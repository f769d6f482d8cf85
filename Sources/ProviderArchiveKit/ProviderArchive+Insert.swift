#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

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
        let path = resolvingLinks(archivePath)
        guard !FileSource.isSameFile(binaryPath, path) else { throw ProviderArchiveError.destinationIsInput(archivePath) }
        let binary = try openBinaryFile(binaryPath)
        let archiveSize = try openArchiveFile(path).size ?? 0
        let counter = ProgressCounter(total: 2 * (binary.size ?? 0) + archiveSize, handler: progress)
        let expected = try hashFile(binary) { counter.advance($0) }
        do throws(any Error) {
            let lock = try FileLock(path: path, onWait: onWait)
            let output = try AtomicFileSink(replacing: path, keeping: try lock.contents().ownership())
            var rewrite = Rewrite(target: target, binary: expected, policy: policy, output: output, progress: counter)
            do {
                try rewrite.run(try lock.contents(), knownToken: nil, signingKeys: signingKeys)
            } catch is ClaimsNotFirst {
                // Binaries before claims.jwt: verify first (nothing is kept), then stream
                // through with the claims known. Nothing was written to `output` yet.
                let verified = try ProviderArchive.verify(from: try lock.contents(), policy: policy)
                try rewrite.run(try lock.contents(), knownToken: verified.token, signingKeys: signingKeys)
            }
            guard let writer = rewrite.writer, let token = rewrite.token else { throw ProviderArchiveError.missingClaims }
            try writer.begin(.binary(target), size: expected.size)
            try copyBinary(from: openBinaryFile(binaryPath), at: binaryPath, expecting: expected, into: writer) {
                counter.advance($0)
            }
            try writer.finish()
            try output.commit()
            var targets: [Target: ArchiveEntryInfo] = rewrite.scanned?.binaries.mapValues { $0.info } ?? [:]
            targets[target] = expected
            return WrittenArchive(
                path: path, token: token, targets: targets, world: rewrite.scanned?.world?.info,
                compression: rewrite.isCompressed ? .gzip : .none)
        } catch let failure as SigningKeysFailure {
            throw failure.error
        } catch {
            throw ProviderArchiveError.wrapping(error)
        }
    }
}

/// One streaming pass of an insert: the old archive's entries through the scanner into a
/// writer that starts with the new claims.
private struct Rewrite {
    let target: Target
    let binary: ArchiveEntryInfo
    let policy: VerificationPolicy
    let output: any ByteSink
    let progress: ProgressCounter

    private(set) var writer: ArchiveWriter?
    private(set) var token: ClaimsToken?
    private(set) var isCompressed = false
    private(set) var scanned: ArchiveScanner.Result?

    init(target: Target, binary: ArchiveEntryInfo, policy: VerificationPolicy, output: any ByteSink, progress: ProgressCounter) {
        self.target = target
        self.binary = binary
        self.policy = policy
        self.output = output
        self.progress = progress
    }

    /// Streams `source` through. With `knownToken` (from a verify pass), the new claims are
    /// written at once; without, when the old claims.jwt is read, which must come first.
    mutating func run(
        _ source: FileSource, knownToken: ClaimsToken?,
        signingKeys: (ProviderClaims) throws -> (issuer: NKeyPair, subject: NKeyPair)
    ) throws {
        try withoutActuallyEscaping(signingKeys) { signingKeys in
            try scan(source, knownToken: knownToken, signingKeys: signingKeys)
        }
    }

    private mutating func scan(
        _ source: FileSource, knownToken: ClaimsToken?,
        signingKeys: @escaping (ProviderClaims) throws -> (issuer: NKeyPair, subject: NKeyPair)
    ) throws {
        let state = RewriteState()
        let counting = ProgressSource(source) { [progress] in progress.advance($0) }
        var scanner = ArchiveScanner(policy: policy) { [target] name, size in
            guard let writer = state.writer else { throw ClaimsNotFirst() }
            // The replaced binary is still hashed and checked, then dropped.
            if name == .binary(target) { return .discard }
            try writer.begin(name, size: size)
            return .sink(writer)
        }
        let start = { [self] (old: ClaimsToken) throws in
            let (token, writer) = try self.begin(from: old, isCompressed: state.isCompressed, signingKeys: signingKeys)
            state.token = token
            state.writer = writer
        }
        scanner.containerOpened = { isCompressed in
            state.isCompressed = isCompressed
            if let knownToken { try start(knownToken) }
        }
        scanner.claimsVerified = { token in
            if let knownToken {
                // The same archive as the verify pass read (the lock keeps par out; this
                // keeps anything else out).
                guard token == knownToken else { throw ProviderArchiveError.fileChanged(counting.path) }
            } else {
                try start(token)
            }
        }
        scanned = try scanner.scanThrowing(counting)
        writer = state.writer
        token = state.token
        isCompressed = state.isCompressed
    }

    /// Signs the new claims and starts the new archive with them.
    private func begin(
        from old: ClaimsToken, isCompressed: Bool, signingKeys: (ProviderClaims) throws -> (issuer: NKeyPair, subject: NKeyPair)
    ) throws -> (ClaimsToken, ArchiveWriter) {
        let keys: (issuer: NKeyPair, subject: NKeyPair)
        do {
            keys = try signingKeys(old.claims)
        } catch {
            throw SigningKeysFailure(error: error)
        }
        guard keys.subject.role == .service else {
            throw ProviderArchiveError.claims(.invalidKey(claim: "sub", .wrongRole(expected: .service, actual: keys.subject.role)))
        }
        let metadata = old.claims.metadata
        var hashes = metadata.targetHashes
        hashes[target] = binary.hash
        let claims = ProviderClaims(
            issuer: keys.issuer.publicKey, subject: keys.subject.publicKey,
            metadata: ProviderMetadata(
                name: metadata.name, vendor: metadata.vendor, revision: metadata.revision, version: metadata.version,
                targetHashes: hashes, worldHash: metadata.worldHash, configSchema: metadata.configSchema))
        let token = try ClaimsToken(signing: claims, with: keys.issuer)
        let writer = try ArchiveWriter(output, compression: isCompressed ? .gzip : .none)
        try writer.writeClaims(token)
        return (token, writer)
    }
}

/// What the scanner's hooks set during one pass.
private final class RewriteState {
    var writer: ArchiveWriter?
    var token: ClaimsToken?
    var isCompressed = false
}

/// A binary or world.wasm came before claims.jwt: the claims must be known first.
private struct ClaimsNotFirst: Error {}

/// The caller's key lookup failed; its error is passed on unchanged.
private struct SigningKeysFailure: Error {
    let error: any Error
}

/// The path with every symbolic link resolved, or the path itself when it cannot be.
private func resolvingLinks(_ path: String) -> String {
    guard let resolved = realpath(path, nil) else { return path }
    defer { free(resolved) }
    return String(cString: resolved)
}
