import PARBytes
import PARClaims
import PARContainer
import PARNKeys

/// Builds a new provider archive: a provider's metadata and one native binary per target,
/// signed into claims.jwt when written (PAR-FORMAT).
///
/// Set the metadata, add binaries with ``addBinary(_:for:)`` or
/// ``addBinary(contentsOf:for:)``, then ``write(to:issuer:subject:compression:expires:notBefore:progress:)-(String,_,_,_,_,_,_)``.
/// What it writes is what a load verifies: the claims are checked against the reader's own
/// limits before anything is written, and every binary read from a file is hashed twice,
/// once to sign and once as it is packed, so a file that changes in between fails the write
/// instead of producing an archive whose hash does not match.
///
/// ```swift
/// var builder = ProviderArchiveBuilder(name: "HTTP Server", vendor: "acme", revision: 1, version: "0.1.0")
/// try builder.addBinary(contentsOf: "target/release/http-server", for: .native)
/// let written = try builder.write(to: "http-server.par", issuer: account, subject: service, compression: .gzip)
/// ```
public struct ProviderArchiveBuilder: Sendable {
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

    private var binaries: [Target: BinaryInput] = [:]

    /// Where a binary's bytes are: in memory, or in a file read when the archive is written.
    enum BinaryInput: Sendable {
        case bytes([UInt8])
        case file(String)
    }

    /// Starts an archive with no binary.
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

    /// Starts from a loaded archive, to change it and write it anew: its metadata, world and
    /// every binary.
    ///
    /// - Parameter archive: An archive loaded with ``TargetSelection/all``.
    /// - Throws: ``ProviderArchiveError/incompleteLoad(_:)`` when it was loaded with
    ///   `.only(_:)`: written back, it would lose every other target.
    public init(copying archive: ProviderArchive) throws(ProviderArchiveError) {
        guard case .all = archive.selection else { throw .incompleteLoad(archive.selection) }
        let metadata = archive.claims.metadata
        self.init(name: metadata.name, vendor: metadata.vendor, revision: metadata.revision, version: metadata.version)
        configSchema = metadata.configSchema
        world = archive.world
        for target in archive.targets {
            if let bytes = archive.binary(for: target) { binaries[target] = .bytes(bytes) }
        }
    }

    /// The targets that have a binary, sorted.
    public var targets: [Target] { binaries.keys.sorted() }

    /// Adds or replaces the binary of a target.
    ///
    /// - Parameters:
    ///   - bytes: The executable's bytes.
    ///   - target: The target it runs on.
    public mutating func addBinary(_ bytes: [UInt8], for target: Target) {
        binaries[target] = .bytes(bytes)
    }

    /// Adds or replaces the binary of a target with a file, read only when the archive is
    /// written, twice and streaming: once to hash it, once to pack it.
    ///
    /// - Parameters:
    ///   - path: The executable's path; a regular file.
    ///   - target: The target it runs on.
    /// - Throws: ``ProviderArchiveError/file(_:)`` when the file cannot be opened or is a
    ///   directory; ``ProviderArchiveError/notARegularFile(path:kind:)`` for a pipe, device
    ///   or socket, which could not be read twice.
    public mutating func addBinary(contentsOf path: String, for target: Target) throws(ProviderArchiveError) {
        _ = try openBinaryFile(path)
        binaries[target] = .file(path)
    }

    /// Removes a target's binary.
    ///
    /// - Parameter target: The target to remove.
    public mutating func removeBinary(for target: Target) {
        binaries[target] = nil
    }
}

// MARK: - Writing

extension ProviderArchiveBuilder {
    /// Signs the archive and writes it to a file, under a temporary name renamed into place
    /// when complete. With gzip, `.gz` is appended to `path` unless it ends in `.gz`, as the
    /// reference does.
    ///
    /// - Parameters:
    ///   - path: The destination; it must not be one of the binaries.
    ///   - issuer: The account key that signs the claims.
    ///   - subject: The provider's service key.
    ///   - compression: Plain tar or gzip.
    ///   - expires: Seconds since 1970 after which the claims are refused; `nil` for never.
    ///   - notBefore: Seconds since 1970 before which the claims are refused; `nil` for now.
    ///   - progress: Called as binary bytes are hashed and packed, with bytes done and bytes in all.
    /// - Returns: What was written, with the path.
    /// - Throws: ``ProviderArchiveError``; the destination is untouched on failure and no
    ///   temporary file is left.
    @discardableResult
    public func write(
        to path: String, issuer: NKeyPair, subject: NKeyPair, compression: ArchiveCompression = .none,
        expires: UInt64? = nil, notBefore: UInt64? = nil, progress: ProgressHandler? = nil
    ) throws(ProviderArchiveError) -> WrittenArchive {
        var destination = path
        if case .gzip = compression, !destination.hasSuffix(".gz") { destination += ".gz" }
        for case .file(let input) in binaries.values where FileSource.isSameFile(input, destination) {
            throw .destinationIsInput(destination)
        }
        let signed = try sign(issuer: issuer, subject: subject, expires: expires, notBefore: notBefore, progress: progress)
        do {
            let output = try AtomicFileSink(destination: destination, mode: 0o644)
            try pack(signed, into: output, compression: compression)
            try output.commit()
        } catch {
            throw .wrapping(error)
        }
        return WrittenArchive(
            path: destination, token: signed.token, targets: signed.targets, world: signed.world, compression: compression)
    }

    /// Signs the archive and writes it to a byte stream. Nothing reaches `sink` before the
    /// binaries were hashed and the claims signed and checked.
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
    /// - Returns: What was written; its `path` is `nil`.
    /// - Throws: ``ProviderArchiveError``.
    @discardableResult
    public func write(
        to sink: any ByteSink, issuer: NKeyPair, subject: NKeyPair, compression: ArchiveCompression = .none,
        expires: UInt64? = nil, notBefore: UInt64? = nil, progress: ProgressHandler? = nil
    ) throws(ProviderArchiveError) -> WrittenArchive {
        let signed = try sign(issuer: issuer, subject: subject, expires: expires, notBefore: notBefore, progress: progress)
        do {
            try pack(signed, into: sink, compression: compression)
        } catch {
            throw .wrapping(error)
        }
        return WrittenArchive(path: nil, token: signed.token, targets: signed.targets, world: signed.world, compression: compression)
    }

    /// The signed token and what it was computed from.
    private struct Signed {
        var token: ClaimsToken
        var targets: [Target: ArchiveEntryInfo]
        var world: ArchiveEntryInfo?
        var progress: ByteCounter
    }

    /// Pass 1: hashes every binary (files stream from disk) and signs the claims. Writes nothing.
    private func sign(
        issuer: NKeyPair, subject: NKeyPair, expires: UInt64?, notBefore: UInt64?, progress: ProgressHandler?
    ) throws(ProviderArchiveError) -> Signed {
        guard !binaries.isEmpty else { throw .noTargets }
        // Never write what a reader refuses: count before reading anything.
        let limit = ArchiveReader.maximumTargets(withWorld: world != nil)
        guard binaries.count <= limit else { throw .tooManyTargets(count: binaries.count, limit: limit) }
        // Files are read twice (hash, then pack); bytes in memory are packed once.
        var total: UInt64 = 0
        for input in binaries.values {
            switch input {
            case .bytes(let bytes): total += UInt64(bytes.count)
            case .file(let path): total += 2 * (try openBinaryFile(path).size ?? 0)
            }
        }
        let counter = ByteCounter(total: total, handler: progress)
        var targets: [Target: ArchiveEntryInfo] = [:]
        for (target, input) in binaries {
            switch input {
            case .bytes(let bytes):
                targets[target] = ArchiveEntryInfo(size: UInt64(bytes.count), hash: .of(bytes))
            case .file(let path):
                targets[target] = try hashFile(openBinaryFile(path), counter: counter)
            }
        }
        let worldInfo = world.map { ArchiveEntryInfo(size: UInt64($0.count), hash: .of($0)) }
        let metadata = ProviderMetadata(
            name: name, vendor: vendor, revision: revision, version: version,
            targetHashes: targets.mapValues(\.hash), worldHash: worldInfo?.hash, configSchema: configSchema)
        let token = try metadata.signed(issuer: issuer, subject: subject, expires: expires, notBefore: notBefore)
        return Signed(token: token, targets: targets, world: worldInfo, progress: counter)
    }

    /// Pass 2: the container. Every file is hashed again as it is packed and must give the
    /// bytes pass 1 signed.
    private func pack(_ signed: Signed, into sink: any ByteSink, compression: ArchiveCompression) throws {
        let counter = signed.progress
        let writer = try ArchiveWriter(sink, compression: compression)
        try writer.writeClaims(signed.token)
        if let world { try writer.write(.world, contents: world) }
        for target in binaries.keys.sorted() {
            guard let input = binaries[target], let expected = signed.targets[target] else { continue }
            switch input {
            case .bytes(let bytes):
                try writer.write(.binary(target), contents: bytes)
                counter.add(bytes.count)
            case .file(let path):
                try writer.begin(.binary(target), size: expected.size)
                try copyBinary(from: openBinaryFile(path), at: path, expecting: expected, into: writer, counter: counter)
            }
        }
        try writer.finish()
    }
}

/// Opens a binary for reading, refusing what cannot be read twice the same (pipes, devices).
func openBinaryFile(_ path: String) throws(ProviderArchiveError) -> FileSource {
    let file = try openFile(path)
    if let kind = file.specialFileKind { throw .notARegularFile(path: path, kind: kind) }
    return file
}

/// The size and hash of a file's content, streamed.
func hashFile(_ source: FileSource, counter: ByteCounter) throws(ProviderArchiveError) -> ArchiveEntryInfo {
    var hasher = SHA256Hasher()
    var size: UInt64 = 0
    do {
        try source.forEachChunk { bytes in
            hasher.update(bytes)
            size += UInt64(bytes.count)
            counter.add(bytes.count)
        }
    } catch {
        throw .wrapping(error)
    }
    return ArchiveEntryInfo(size: size, hash: hasher.finalize())
}

/// Streams a file into the entry just begun, checking that it gives exactly the bytes that
/// were hashed before.
func copyBinary(
    from source: FileSource, at path: String, expecting expected: ArchiveEntryInfo, into writer: ArchiveWriter,
    counter: ByteCounter
) throws {
    var hasher = SHA256Hasher()
    var size: UInt64 = 0
    do {
        try source.forEachChunk { bytes in
            guard size + UInt64(bytes.count) <= expected.size else { throw ProviderArchiveError.fileChanged(path) }
            hasher.update(bytes)
            size += UInt64(bytes.count)
            try writer.write(bytes)
            counter.add(bytes.count)
        }
    } catch TarError.sizeMismatch {
        throw ProviderArchiveError.fileChanged(path)
    }
    guard size == expected.size, hasher.finalize() == expected.hash else { throw ProviderArchiveError.fileChanged(path) }
}
