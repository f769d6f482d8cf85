/// Reports progress of long work: bytes done so far, and bytes to do in all.
public typealias ProgressHandler = (_ completed: UInt64, _ total: UInt64) -> Void

/// A wasmCloud provider archive: a provider's metadata and one native binary per target,
/// signed into claims.jwt when written (PAR-FORMAT).
///
/// Build one with ``init(name:vendor:revision:version:)``, add binaries with
/// ``addLibrary(_:for:)`` or ``addLibrary(contentsOf:for:)``, then ``write(to:issuer:subject:compression:expires:notBefore:)``.
/// Load one with ``load(path:selection:policy:)``: every load verifies the signature, the
/// policy, and every hash, and refuses anything else in the archive.
///
/// ```swift
/// var archive = ProviderArchive(name: "HTTP Server", vendor: "acme", revision: 1, version: "0.1.0")
/// try archive.addLibrary(contentsOf: "target/release/http-server", for: .native)
/// let path = try archive.write(to: "http-server.par", issuer: account, subject: service, compression: .gzip)
/// let loaded = try ProviderArchive.load(path: path, selection: .only(.native))
/// ```
public struct ProviderArchive: Sendable {
    /// The provider's name.
    public var name: String?
    /// The provider's vendor.
    public var vendor: String
    /// The provider's revision.
    public var revision: Int32?
    /// The provider's version, such as `0.1.0`.
    public var version: String?
    /// The JSON schema of the provider's configuration.
    public var configSchema: JSONValue?
    /// The WIT world (`world.wasm`), a WebAssembly component's bytes.
    public var world: [UInt8]?

    private var libraries: [Target: Library] = [:]

    /// The signed token, after a write or a load.
    public private(set) var token: ClaimsToken?

    /// The claims, after a write or a load.
    public var claims: ProviderClaims? { token?.claims }

    /// Where a library's bytes are: in memory, or in a file read when the archive is written.
    enum Library: Sendable {
        case bytes([UInt8])
        case file(String)
    }

    /// Creates an empty archive.
    ///
    /// - Parameters:
    ///   - name: The provider's name.
    ///   - vendor: The provider's vendor.
    ///   - revision: The revision, if any.
    ///   - version: The version, if any.
    public init(name: String?, vendor: String, revision: Int32? = nil, version: String? = nil) {
        self.name = name
        self.vendor = vendor
        self.revision = revision
        self.version = version
    }

    /// The targets the archive has binaries for, sorted.
    public var targets: [Target] { libraries.keys.sorted() }

    /// Adds or replaces the binary of a target.
    ///
    /// - Parameters:
    ///   - bytes: The executable's bytes.
    ///   - target: The target it runs on.
    public mutating func addLibrary(_ bytes: [UInt8], for target: Target) {
        libraries[target] = .bytes(bytes)
    }

    /// Adds or replaces the binary of a target with a file that is read, twice and streaming,
    /// only when the archive is written: once to hash it, once to pack it.
    ///
    /// - Parameters:
    ///   - path: The executable's path.
    ///   - target: The target it runs on.
    /// - Throws: ``ProviderArchiveError/file(_:)`` when the file cannot be opened or is a directory.
    public mutating func addLibrary(contentsOf path: String, for target: Target) throws(ProviderArchiveError) {
        do {
            _ = try FileSource(path: path)
        } catch {
            throw .file(error)
        }
        libraries[target] = .file(path)
    }

    /// Removes a target's binary.
    ///
    /// - Parameter target: The target to remove.
    public mutating func removeLibrary(for target: Target) {
        libraries[target] = nil
    }

    /// The bytes of a target's binary.
    ///
    /// - Parameter target: The target.
    /// - Returns: The bytes, or `nil` when the archive has no binary for `target`.
    /// - Throws: ``ProviderArchiveError/file(_:)`` when a file-backed binary cannot be read.
    public func library(for target: Target) throws(ProviderArchiveError) -> [UInt8]? {
        switch libraries[target] {
        case nil: return nil
        case .bytes(let bytes)?: return bytes
        case .file(let path)?:
            do {
                return try FileSource(path: path).readAll(limit: .max)
            } catch {
                throw .wrapping(error)
            }
        }
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
    /// - Parameters:
    ///   - source: The archive's bytes, read once from start to end.
    ///   - selection: Which binaries to keep.
    ///   - policy: Trusted issuers, expiry and the validation time.
    /// - Returns: The archive with its verified claims.
    /// - Throws: ``ProviderArchiveError`` naming the first check that failed.
    public static func load(
        from source: any ByteSource, selection: TargetSelection = .all, policy: VerificationPolicy = .default
    ) throws(ProviderArchiveError) -> ProviderArchive {
        var scanner = ArchiveScanner(policy: policy) { name in
            switch (name, selection) {
            case (.world, .all): .collect
            case (.binary, .all): .collect
            case (.binary(let target), .only(let wanted)) where target == wanted: .collect
            default: .discard
            }
        }
        if case .only(let target) = selection {
            scanner.requireAllClaimed = false
            scanner.requiredTargets = [target]
        }
        let result = try scanner.scan(source)
        let metadata = result.token.claims.metadata
        var archive = ProviderArchive(
            name: metadata.name, vendor: metadata.vendor, revision: metadata.revision, version: metadata.version)
        archive.configSchema = metadata.configSchema
        archive.world = result.world?.bytes
        for (target, entry) in result.binaries {
            if let bytes = entry.bytes { archive.libraries[target] = .bytes(bytes) }
        }
        archive.token = result.token
        return archive
    }

    /// Verifies an archive file without keeping any binary: signature, policy, every hash,
    /// every claimed target present, nothing unclaimed.
    ///
    /// - Parameters:
    ///   - path: The archive's path.
    ///   - requiredTargets: Targets that must be in the archive.
    ///   - policy: Trusted issuers, expiry and the validation time.
    /// - Returns: The verified claims and each entry's size and hash.
    /// - Throws: ``ProviderArchiveError`` naming the first check that failed.
    public static func verify(
        path: String, requiredTargets: [Target] = [], policy: VerificationPolicy = .default
    ) throws(ProviderArchiveError) -> VerifiedArchive {
        let source = try openArchiveFile(path)
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
        var scanner = ArchiveScanner(policy: policy) { _ in .discard }
        scanner.requiredTargets = requiredTargets
        return VerifiedArchive(try scanner.scan(source))
    }

    /// Verifies an archive and writes one target's binary to a file (mode 0755), streaming:
    /// memory stays bounded whatever the sizes. The file appears only once everything
    /// verified; on any failure nothing is left at `destination`.
    ///
    /// - Parameters:
    ///   - target: The target to extract.
    ///   - path: The archive's path.
    ///   - destination: Where to write the binary.
    ///   - policy: Trusted issuers, expiry and the validation time.
    /// - Returns: What verification found.
    /// - Throws: ``ProviderArchiveError`` naming the first check that failed.
    public static func extract(
        _ target: Target, fromArchiveAt path: String, to destination: String, policy: VerificationPolicy = .default
    ) throws(ProviderArchiveError) -> VerifiedArchive {
        let source = try openArchiveFile(path)
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
            var scanner = ArchiveScanner(policy: policy) { name in
                name == .binary(target) ? .sink(output) : .discard
            }
            scanner.requireAllClaimed = false
            scanner.requiredTargets = [target]
            let result = try scanner.scan(source)
            try output.commit()
            return VerifiedArchive(result)
        } catch {
            throw .wrapping(error)
        }
    }
}

/// Opens an archive file, with the archive layer's error.
private func openArchiveFile(_ path: String) throws(ProviderArchiveError) -> FileSource {
    do {
        return try FileSource(path: path)
    } catch {
        throw .file(error)
    }
}

// MARK: - Writing

extension ProviderArchive {
    /// Signs the archive and writes it to a file, under a temporary name renamed into place
    /// when complete. With gzip, `.gz` is appended to `path` unless it ends in `.gz`, as the
    /// reference does.
    ///
    /// - Parameters:
    ///   - path: The destination.
    ///   - issuer: The account key that signs the claims.
    ///   - subject: The provider's service key.
    ///   - compression: Plain tar or gzip.
    ///   - expires: Seconds since 1970 after which the claims are refused; `nil` for never.
    ///   - notBefore: Seconds since 1970 before which the claims are refused; `nil` for now.
    ///   - progress: Called as binary bytes are hashed and packed, with bytes done and bytes in all.
    /// - Returns: The path written.
    /// - Throws: ``ProviderArchiveError``; the destination is untouched on failure.
    @discardableResult
    public mutating func write(
        to path: String, issuer: NKeyPair, subject: NKeyPair, compression: ArchiveCompression = .none,
        expires: UInt64? = nil, notBefore: UInt64? = nil, progress: ProgressHandler? = nil
    ) throws(ProviderArchiveError) -> String {
        var destination = path
        if case .gzip = compression, !destination.hasSuffix(".gz") { destination += ".gz" }
        do {
            let output = try AtomicFileSink(destination: destination, mode: 0o644)
            try write(
                to: output, issuer: issuer, subject: subject, compression: compression, expires: expires,
                notBefore: notBefore, progress: progress)
            try output.commit()
        } catch {
            throw .wrapping(error)
        }
        return destination
    }

    /// Signs the archive and writes it to a byte stream.
    ///
    /// Layout: claims.jwt first, then world.wasm, then the targets in sorted order, mtime 0,
    /// so the same inputs give the same bytes apart from the claims.
    ///
    /// - Parameters:
    ///   - sink: Where the archive goes.
    ///   - issuer: The account key that signs the claims.
    ///   - subject: The provider's service key.
    ///   - compression: Plain tar or gzip.
    ///   - expires: Seconds since 1970 after which the claims are refused; `nil` for never.
    ///   - notBefore: Seconds since 1970 before which the claims are refused; `nil` for now.
    ///   - progress: Called as binary bytes are hashed and packed, with bytes done and bytes in all.
    /// - Throws: ``ProviderArchiveError``.
    public mutating func write(
        to sink: any ByteSink, issuer: NKeyPair, subject: NKeyPair, compression: ArchiveCompression = .none,
        expires: UInt64? = nil, notBefore: UInt64? = nil, progress: ProgressHandler? = nil
    ) throws(ProviderArchiveError) {
        guard !libraries.isEmpty else { throw .noTargets }
        guard subject.role == .service else {
            throw .claims(.invalidKey(claim: "sub", .wrongRole(expected: .service, actual: subject.role)))
        }
        do {
            // Pass 1: hash every binary (files stream from disk).
            var hashes: [Target: SHA256Hash] = [:]
            var identities: [Target: FileIdentity] = [:]
            for (target, library) in libraries {
                if case .file(let path) = library { identities[target] = try FileSource(path: path).identity() }
            }
            // Files are read twice (hash, then pack); bytes in memory are packed once.
            var done: UInt64 = 0
            let total = libraries.reduce(identities.values.reduce(0) { $0 + $1.size }) { sum, entry in
                switch entry.value {
                case .bytes(let bytes): sum + UInt64(bytes.count)
                case .file: sum + (identities[entry.key]?.size ?? 0)
                }
            }
            let advance = { (count: Int) in
                done += UInt64(count)
                progress?(done, total)
            }
            for (target, library) in libraries {
                switch library {
                case .bytes(let bytes):
                    hashes[target] = StreamingHash.hash(bytes)
                case .file(let path):
                    let source = try FileSource(path: path)
                    guard try source.identity() == identities[target] else { throw ProviderArchiveError.fileChanged(path) }
                    var hash = StreamingHash()
                    try Self.copy(from: source) {
                        hash.update($0)
                        advance($0.count)
                    }
                    hashes[target] = hash.finalize()
                }
            }
            let metadata = ProviderMetadata(
                name: name, vendor: vendor, revision: revision, version: version, targetHashes: hashes,
                worldHash: world.map(StreamingHash.hash), configSchema: configSchema)
            let claims = ProviderClaims(
                issuer: issuer.publicKey, subject: subject.publicKey, metadata: metadata, expires: expires,
                notBefore: notBefore)
            let token = try ClaimsToken(signing: claims, with: issuer)

            // Pass 2: the container.
            let gzip: GzipWriter?
            if case .gzip(let level) = compression { gzip = try GzipWriter(sink, level: level) } else { gzip = nil }
            let tar = TarWriter(gzip ?? sink)
            try tar.addFile(name: ArchiveEntryName.claimsFileName, contents: Array(token.encoded.utf8), mode: 0o644)
            if let world { try tar.addFile(name: ArchiveEntryName.worldFileName, contents: world, mode: 0o644) }
            for target in libraries.keys.sorted() {
                switch libraries[target] {
                case .bytes(let bytes)?:
                    try tar.addFile(name: target.entryName, contents: bytes, mode: 0o755)
                    advance(bytes.count)
                case .file(let path)?:
                    let source = try FileSource(path: path)
                    guard let identity = identities[target], try source.identity() == identity else {
                        throw ProviderArchiveError.fileChanged(path)
                    }
                    try tar.beginFile(name: target.entryName, size: identity.size, mode: 0o755)
                    do {
                        try Self.copy(from: source) {
                            try tar.writeContent($0)
                            advance($0.count)
                        }
                    } catch TarError.sizeMismatch {
                        throw ProviderArchiveError.fileChanged(path)
                    }
                    guard try source.identity() == identity else { throw ProviderArchiveError.fileChanged(path) }
                case nil:
                    break
                }
            }
            try tar.finish()
            try gzip?.finish()
            self.token = token
        } catch {
            throw .wrapping(error)
        }
    }

    /// Streams a source through `body` in large chunks.
    private static func copy(from source: any ByteSource, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: ArchiveScanner.chunkSize, alignment: 16)
        defer { chunk.deallocate() }
        while true {
            let count = try source.read(into: chunk)
            if count == 0 { return }
            try body(UnsafeRawBufferPointer(rebasing: chunk[..<count]))
        }
    }
}
