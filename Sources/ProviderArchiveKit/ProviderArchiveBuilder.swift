import Foundation
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
    /// The WIT world (`world.wasm`), a WebAssembly component's bytes. Set it with
    /// ``setWorld(_:)`` to have them checked; bytes set here are stored as they are, as the
    /// Rust crate stores them.
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

    /// Sets the WIT world, after checking the bytes are a WebAssembly component.
    ///
    /// - Parameter bytes: A WIT package encoded as a component (`wasm-tools component wit
    ///   DIR --wasm`).
    /// - Throws: ``ProviderArchiveError/worldNotAComponent(_:)`` for a core module or bytes
    ///   that are not WebAssembly.
    public mutating func setWorld(_ bytes: [UInt8]) throws(ProviderArchiveError) {
        let encoding = WorldEncoding(of: bytes)
        guard encoding == .component else { throw .worldNotAComponent(encoding) }
        world = bytes
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
        let signed: Signed
        do {
            if case .none = compression, try binariesAreSettled(),
                let once = try writeInOnePass(to: destination, issuer: issuer, subject: subject, expires: expires, notBefore: notBefore, progress: progress)
            {
                signed = once
            } else {
                signed = try sign(issuer: issuer, subject: subject, expires: expires, notBefore: notBefore, progress: progress)
                let output = try AtomicFileSink(destination: destination, mode: 0o644)
                try pack(signed, into: output, compression: compression)
                try output.commit()
            }
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

    /// How long a binary must have been left alone for one read to be enough: a write within
    /// the kernel's clock tick of the last one may leave the change time as it was, so a file
    /// changed this recently is read twice (hashed, then packed and hashed again) instead.
    package static let settledSeconds = 2

    /// Whether every binary file has been left alone for ``settledSeconds``.
    private func binariesAreSettled() throws(ProviderArchiveError) -> Bool {
        let now = Int(Date().timeIntervalSince1970)
        for case .file(let path) in binaries.values {
            guard let stamp = try openBinaryFile(path).stamp, !stamp.changedRecently(within: Self.settledSeconds, of: now) else {
                return false
            }
        }
        return true
    }

    /// A plain archive into a file, each binary read once: claims.jwt's entry is reserved at
    /// its final size (a token's length does not depend on the hash values), each binary is
    /// hashed as it is copied, and the claims signed over those hashes are written into the
    /// reserved space before the file is renamed into place. A binary whose size or times
    /// differ after its copy is refused. Returns `nil`, having written nothing in place,
    /// when the final claims' length came out different after all.
    private func writeInOnePass(
        to destination: String, issuer: NKeyPair, subject: NKeyPair, expires: UInt64?, notBefore: UInt64?, progress: ProgressHandler?
    ) throws -> Signed? {
        try checkTargetCount()
        var total: UInt64 = 0
        for input in binaries.values {
            switch input {
            case .bytes(let bytes): total += UInt64(bytes.count)
            case .file(let path): total += try openBinaryFile(path).size ?? 0
            }
        }
        let counter = ByteCounter(total: total, handler: progress)
        let worldInfo = world.map { ArchiveEntryInfo(size: UInt64($0.count), hash: .of($0)) }
        var claims = ProviderClaims(
            issuer: issuer.publicKey, subject: subject.publicKey,
            metadata: ProviderMetadata(
                name: name, vendor: vendor, revision: revision, version: version,
                targetHashes: binaries.mapValues { _ in SHA256Hash.of([]) }, worldHash: worldInfo?.hash, configSchema: configSchema),
            expires: expires, notBefore: notBefore)
        let reserved = Array(try claims.signed(with: issuer).encoded.utf8)
        let output = try AtomicFileSink(destination: destination, mode: 0o644)
        let writer = try ArchiveWriter(output, compression: .none)
        // claims.jwt's content starts after its 512-byte header, at the very start.
        try writer.write(.claims, contents: reserved)
        if let world { try writer.write(.world, contents: world) }
        var targets: [Target: ArchiveEntryInfo] = [:]
        for target in binaries.keys.sorted() {
            switch binaries[target] {
            case .bytes(let bytes)?:
                try writer.write(.binary(target), contents: bytes)
                counter.add(bytes.count)
                targets[target] = ArchiveEntryInfo(size: UInt64(bytes.count), hash: .of(bytes))
            case .file(let path)?:
                let source = try openBinaryFile(path)
                guard let before = source.stamp else { throw ProviderArchiveError.fileChanged(path) }
                try writer.begin(.binary(target), size: before.size)
                let info = try copyAndHash(from: source, at: path, size: before.size, into: writer, counter: counter)
                guard source.stamp == before else { throw ProviderArchiveError.fileChanged(path) }
                targets[target] = info
            case nil:
                continue
            }
        }
        try writer.finish()
        claims.metadata.targetHashes = targets.mapValues(\.hash)
        let token = try claims.signed(with: issuer)
        let final = Array(token.encoded.utf8)
        guard final.count == reserved.count else {
            output.discard()
            return nil
        }
        try final.withUnsafeBytes { try output.overwrite($0, at: UInt64(TarWriter.headerSize)) }
        try output.commit()
        return Signed(token: token, targets: targets, world: worldInfo, progress: counter)
    }

    /// Never write what a reader refuses: the targets are counted before anything is read.
    private func checkTargetCount() throws(ProviderArchiveError) {
        guard !binaries.isEmpty else { throw .noTargets }
        let limit = ArchiveReader.maximumTargets(withWorld: world != nil)
        guard binaries.count <= limit else { throw .tooManyTargets(count: binaries.count, limit: limit) }
    }

    /// Pass 1: hashes every binary (files stream from disk) and signs the claims. Writes nothing.
    private func sign(
        issuer: NKeyPair, subject: NKeyPair, expires: UInt64?, notBefore: UInt64?, progress: ProgressHandler?
    ) throws(ProviderArchiveError) -> Signed {
        try checkTargetCount()
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

/// The size and hash of a file's content, streamed: read on this thread, hashed on another.
func hashFile(_ source: FileSource, counter: ByteCounter) throws(ProviderArchiveError) -> ArchiveEntryInfo {
    do {
        let (size, hash) = try HashingPipeline.copy(from: source) { counter.add($0.count) }
        return ArchiveEntryInfo(size: size, hash: hash)
    } catch {
        throw .wrapping(error)
    }
}

/// Streams a file into the entry just begun, checking that it gives exactly the bytes that
/// were hashed before.
func copyBinary(
    from source: FileSource, at path: String, expecting expected: ArchiveEntryInfo, into writer: ArchiveWriter,
    counter: ByteCounter
) throws {
    let copied = try copyAndHash(from: source, at: path, size: expected.size, into: writer, counter: counter)
    guard copied == expected else { throw ProviderArchiveError.fileChanged(path) }
}

/// Streams a file of `size` bytes into the entry just begun, hashing what it copies (on a
/// second thread); a file longer or shorter than `size` changed meanwhile.
func copyAndHash(
    from source: FileSource, at path: String, size expected: UInt64, into writer: ArchiveWriter, counter: ByteCounter
) throws -> ArchiveEntryInfo {
    var copied: UInt64 = 0
    let (size, hash): (UInt64, SHA256Hash)
    do {
        // Written on this thread, hashed on another: the hash costs the copy no time.
        (size, hash) = try HashingPipeline.copy(from: source) { bytes in
            guard copied + UInt64(bytes.count) <= expected else { throw ProviderArchiveError.fileChanged(path) }
            copied += UInt64(bytes.count)
            try writer.write(bytes)
            counter.add(bytes.count)
        }
    } catch TarError.sizeMismatch {
        throw ProviderArchiveError.fileChanged(path)
    }
    guard size == expected else { throw ProviderArchiveError.fileChanged(path) }
    return ArchiveEntryInfo(size: size, hash: hash)
}
