import PARBytes
import PARClaims

/// A provider archive that was loaded and verified: its signed claims, how it was stored,
/// and the binaries the load kept. Read-only; build new archives with
/// ``ProviderArchiveBuilder`` and change one on disk with
/// ``insert(binaryAt:for:intoArchiveAt:policy:signingKeys:onWait:progress:)``.
///
/// Every load checks the signature, the policy (trusted issuers, `exp`, `nbf`), every hash,
/// that every claimed target is present (with ``TargetSelection/all``) and that nothing
/// unclaimed is, before it returns.
///
/// ```swift
/// let loaded = try ProviderArchive.load(path: "http-server.par.gz", selection: .only(.native))
/// print(loaded.claims.metadata.name ?? "Unnamed Provider", loaded.isCompressed)
/// let executable = loaded.binary(for: .native)
/// ```
public struct ProviderArchive: Sendable {
    /// The verified claims token.
    public let token: ClaimsToken
    /// Which binaries the load kept in memory.
    public let selection: TargetSelection
    /// What verification found: the size and hash of every entry, kept or not.
    public let verified: VerifiedArchive
    /// `world.wasm`, when the archive has one and the load kept it (``TargetSelection/all``
    /// and ``TargetSelection/worldOnly``).
    public let world: [UInt8]?
    private let binaries: [Target: [UInt8]]

    /// The verified claims.
    public var claims: ProviderClaims { token.claims }

    /// Whether the archive is gzip-compressed (`.par.gz`).
    public var isCompressed: Bool { verified.isCompressed }

    /// Every target the archive has a binary for, kept or not, sorted.
    public var targets: [Target] { verified.targets.keys.sorted() }

    /// The bytes of a target's binary, when the load kept it.
    ///
    /// - Parameter target: The target.
    /// - Returns: The bytes, or `nil` when the archive has no binary for `target` or the
    ///   load's ``selection`` did not keep it.
    public func binary(for target: Target) -> [UInt8]? {
        binaries[target]
    }
}

// MARK: - Loading

extension ProviderArchive {
    /// Loads and verifies an archive from a file, plain or gzip.
    ///
    /// - Parameters:
    ///   - path: The archive's path.
    ///   - selection: Which binaries to keep in memory; `.only` keeps memory bounded by that
    ///     binary and a buffer, wherever claims.jwt sits in the archive.
    ///   - policy: Trusted issuers, expiry and the validation time.
    /// - Returns: The archive with its verified claims.
    /// - Throws: ``ProviderArchiveError`` naming the first check that failed.
    public static func load(
        path: String, selection: TargetSelection = .all, policy: VerificationPolicy = .default
    ) throws(ProviderArchiveError) -> ProviderArchive {
        let source = try openArchiveFile(path)
        return try load(from: source, selection: selection, policy: policy)
    }

    /// Loads and verifies an archive from bytes in memory, plain or gzip.
    ///
    /// - Parameters:
    ///   - bytes: The archive's bytes.
    ///   - selection: Which binaries to keep.
    ///   - policy: Trusted issuers, expiry and the validation time.
    /// - Returns: The archive with its verified claims.
    /// - Throws: ``ProviderArchiveError`` naming the first check that failed.
    public static func load(
        bytes: [UInt8], selection: TargetSelection = .all, policy: VerificationPolicy = .default
    ) throws(ProviderArchiveError) -> ProviderArchive {
        try load(from: MemorySource(bytes), selection: selection, policy: policy)
    }

    /// Loads and verifies an archive from a byte stream, plain or gzip.
    ///
    /// Binaries that come before claims.jwt are held unverified until it arrives: at most
    /// 64 MiB of them, else the load fails with ``ProviderArchiveError/claimsTooLate(limit:)``
    /// (archives written by this package and the reference have claims.jwt first).
    ///
    /// - Parameters:
    ///   - source: The archive's bytes, read once from start to end.
    ///   - selection: Which binaries to keep.
    ///   - policy: Trusted issuers, expiry and the validation time.
    /// - Returns: The archive with its verified claims.
    /// - Throws: ``ProviderArchiveError`` naming the first check that failed.
    public static func load(
        from source: any ByteSource, selection: TargetSelection = .all, policy: VerificationPolicy = .default
    ) throws(ProviderArchiveError) -> ProviderArchive {
        let reader = try ArchiveReader(source, mode: .verifying(policy))
        var binaries: [Target: [UInt8]] = [:]
        var world: [UInt8]?
        var unverifiedBudget = ArchiveReader.maximumUnverifiedBytes
        while let entry = try reader.next() {
            switch (entry.name, selection) {
            case (.world, .all), (.world, .worldOnly), (.binary, .all): break
            case (.binary(let target), .only(let wanted)) where target == wanted: break
            default: continue
            }
            // Kept before the signature is known: bounded, whatever the archive says.
            let budget = reader.token == nil ? unverifiedBudget : nil
            let bytes = try collect(reader, declaredSize: entry.size, budget: budget)
            if budget != nil { unverifiedBudget -= bytes.count }
            if case .binary(let target) = entry.name { binaries[target] = bytes } else { world = bytes }
        }
        let verified: VerifiedArchive
        switch selection {
        case .all: verified = try reader.finish(.full(requiredTargets: []))
        case .only(let target): verified = try reader.finish(.partial(requiredTargets: [target]))
        case .worldOnly: verified = try reader.finish(.partial(requiredTargets: []))
        }
        return ProviderArchive(token: verified.token, selection: selection, verified: verified, world: world, binaries: binaries)
    }

    /// The current entry's content, refusing more than `budget` bytes when one is given.
    private static func collect(
        _ reader: ArchiveReader, declaredSize: UInt64, budget: Int?
    ) throws(ProviderArchiveError) -> [UInt8] {
        var bytes: [UInt8] = []
        // The header's size is untrusted: reserve only up to a sane amount.
        bytes.reserveCapacity(Int(min(declaredSize, UInt64(budget ?? ArchiveReader.maximumUnverifiedBytes))))
        do {
            try reader.forEachChunk { chunk in
                if let budget, bytes.count + chunk.count > budget {
                    throw ProviderArchiveError.claimsTooLate(limit: ArchiveReader.maximumUnverifiedBytes)
                }
                bytes.append(contentsOf: chunk)
            }
        } catch {
            throw .wrapping(error)
        }
        return bytes
    }

    /// Verifies an archive file without keeping any binary: signature, policy, every hash,
    /// every claimed target present, nothing unclaimed.
    ///
    /// - Parameters:
    ///   - path: The archive's path.
    ///   - requiredTargets: Targets that must be in the archive.
    ///   - policy: Trusted issuers, expiry and the validation time.
    ///   - progress: Called as the file is read, with bytes read and the file's size.
    /// - Returns: The verified claims and each entry's size and hash.
    /// - Throws: ``ProviderArchiveError`` naming the first check that failed.
    public static func verify(
        path: String, requiredTargets: [Target] = [], policy: VerificationPolicy = .default,
        progress: ProgressHandler? = nil
    ) throws(ProviderArchiveError) -> VerifiedArchive {
        let source = try openArchiveFile(path, progress: progress)
        return try verify(from: source, requiredTargets: requiredTargets, policy: policy)
    }

    /// Verifies an archive read from a byte stream, without keeping any binary.
    ///
    /// - Parameters:
    ///   - source: The archive's bytes, read once.
    ///   - requiredTargets: Targets that must be in the archive.
    ///   - policy: Trusted issuers, expiry and the validation time.
    /// - Returns: The verified claims and each entry's size and hash.
    /// - Throws: ``ProviderArchiveError`` naming the first check that failed.
    public static func verify(
        from source: any ByteSource, requiredTargets: [Target] = [], policy: VerificationPolicy = .default
    ) throws(ProviderArchiveError) -> VerifiedArchive {
        let reader = try ArchiveReader(source, mode: .verifying(policy))
        return try reader.finish(.full(requiredTargets: requiredTargets))
    }

    /// Verifies an archive and writes one target's binary to a file (mode 0755), streaming:
    /// memory stays bounded whatever the sizes. The file appears only once everything
    /// verified; on any failure nothing is left at `destination`.
    ///
    /// - Parameters:
    ///   - target: The target to extract.
    ///   - path: The archive's path.
    ///   - destination: Where to write the binary; not the archive itself.
    ///   - policy: Trusted issuers, expiry and the validation time.
    ///   - progress: Called as the file is read, with bytes read and the file's size.
    /// - Returns: What verification found.
    /// - Throws: ``ProviderArchiveError`` naming the first check that failed;
    ///   ``ProviderArchiveError/destinationIsInput(_:)`` when `destination` is the archive.
    public static func extract(
        _ target: Target, fromArchiveAt path: String, to destination: String, policy: VerificationPolicy = .default,
        progress: ProgressHandler? = nil
    ) throws(ProviderArchiveError) -> VerifiedArchive {
        guard !FileSource.isSameFile(path, destination) else { throw .destinationIsInput(destination) }
        let source = try openArchiveFile(path, progress: progress)
        return try extract(target, from: source, to: destination, policy: policy)
    }

    /// Verifies an archive read from a byte stream and writes one target's binary to a file
    /// (mode 0755), streaming. The file appears only once everything verified.
    ///
    /// - Parameters:
    ///   - target: The target to extract.
    ///   - source: The archive's bytes, read once.
    ///   - destination: Where to write the binary.
    ///   - policy: Trusted issuers, expiry and the validation time.
    /// - Returns: What verification found.
    /// - Throws: ``ProviderArchiveError`` naming the first check that failed.
    public static func extract(
        _ target: Target, from source: any ByteSource, to destination: String, policy: VerificationPolicy = .default
    ) throws(ProviderArchiveError) -> VerifiedArchive {
        do {
            let output = try AtomicFileSink(destination: destination, mode: 0o755)
            let reader = try ArchiveReader(source, mode: .verifying(policy))
            while let entry = try reader.next() {
                if entry.name == .binary(target) { try reader.forEachChunk { try output.write($0) } }
            }
            let verified = try reader.finish(.partial(requiredTargets: [target]))
            // Only now, with every check passed, does the file appear.
            try output.commit()
            return verified
        } catch {
            throw .wrapping(error)
        }
    }
}

/// Opens an archive file, with the archive layer's error: a regular file or a pipe, which
/// end; a device (`/dev/zero` never ends) or a socket is refused.
func openArchiveFile(_ path: String) throws(ProviderArchiveError) -> FileSource {
    let file = try openFile(path)
    guard file.isBoundedStream else {
        throw .file(FileError(operation: "read", path: path, code: Errno.invalidArgument, kind: file.specialFileKind))
    }
    return file
}

/// Opens an archive file that reports the bytes read to `progress`, if any.
func openArchiveFile(_ path: String, progress: ProgressHandler?) throws(ProviderArchiveError) -> any ByteSource {
    let file = try openArchiveFile(path)
    guard let progress else { return file }
    let counter = ByteCounter(total: file.size ?? 0, handler: progress)
    return TappedSource(file) { counter.add($0.count) }
}

/// Opens a file for reading, with the archive layer's error.
func openFile(_ path: String) throws(ProviderArchiveError) -> FileSource {
    do {
        return try FileSource(path: path)
    } catch {
        throw .file(error)
    }
}
