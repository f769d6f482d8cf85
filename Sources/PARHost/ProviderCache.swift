import Foundation
import PARBytes
import PARClaims
import PARRegistry
import ProviderArchiveKit

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A content-addressed cache of verified provider binaries, the host's half of a provider
/// archive: take a file or a registry reference, choose this machine's binary, verify it,
/// keep it, and hand it over to be run.
///
/// Layout under ``root`` (every folder 0700, owned by this user):
///
/// - `binaries/HEX`: a binary, named by the SHA-256 its signed claims give it;
/// - `claims/HEX.jwt`: an archive's claims.jwt, named by the archive's SHA-256;
/// - `refs/HEX`: the archive digest a registry manifest names, by the manifest's digest;
/// - `tags/HEX.json`: a tag's manifest digest and when it was resolved, by the reference;
/// - `files/HEX.json`: an archive file's digest, by its path, valid while its device, inode,
///   size, mtime and ctime are the same (any write changes the ctime), so a warm start hashes
///   only the binary;
/// - `locks/`, `downloads/`: per-source locks, and archives being downloaded.
///
/// Every file is written under a temporary name and renamed; nothing is rewritten in place,
/// so a running binary is never changed and a half-written file is never read. Concurrent
/// ``prepare(_:target:policy:offline:registry:events:)`` calls of one source, from threads
/// or processes, fetch and extract once: the others wait on the source's lock and reuse it.
public struct ProviderCache: Sendable {
    /// The cache's folder.
    public let root: String

    /// The default folder: `$PAR_CACHE_DIR`, else `$XDG_CACHE_HOME/par`, else `~/.cache/par`.
    ///
    /// - Parameter environment: Where to read the variables and `HOME`.
    /// - Returns: The folder's path.
    public static func standardRoot(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        if let path = value("PAR_CACHE_DIR") { return path }
        if let cache = value("XDG_CACHE_HOME") { return cache + "/par" }
        return (value("HOME") ?? NSHomeDirectory()) + "/.cache/par"
    }

    /// Opens the cache at `root`, creating its folders (0700) when missing.
    ///
    /// - Parameter root: The cache's folder.
    /// - Throws: ``ProviderCacheError/unsafeFolder(path:reason:fix:)`` when a folder is owned
    ///   by another user or writable by others: a binary there could be swapped.
    public init(root: String) throws(ProviderCacheError) {
        self.root = root
        try Self.ensureFolder(root)
        for folder in Self.folders { try Self.ensureFolder(root + "/" + folder) }
    }

    static let folders = ["binaries", "claims", "refs", "tags", "files", "locks", "downloads"]

    /// Creates a folder 0700 when missing, and refuses one that another user could change.
    private static func ensureFolder(_ path: String) throws(ProviderCacheError) {
        if mkdir(path, 0o700) != 0, errno != EEXIST {
            if errno == ENOENT {
                // The parents (~/.cache) are ordinary folders: made as the user's umask says.
                try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            }
            var status = stat()
            guard stat(path, &status) == 0 else { throw .file(FileError(operation: "create", path: path, code: errno)) }
        }
        var status = stat()
        guard lstat(path, &status) == 0 else { throw .file(FileError(operation: "open", path: path, code: errno)) }
        guard status.st_mode & S_IFMT == S_IFDIR else {
            throw .unsafeFolder(path: path, reason: "is not a folder", fix: "remove it, or set PAR_CACHE_DIR to another folder")
        }
        guard status.st_uid == geteuid() else {
            throw .unsafeFolder(
                path: path, reason: "belongs to user \(status.st_uid), not to this user (\(geteuid()))",
                fix: "use a cache folder of your own (PAR_CACHE_DIR), or chown it to yourself")
        }
        guard status.st_mode & 0o022 == 0 else {
            throw .unsafeFolder(
                path: path, reason: "is writable by its group or by others (mode \(String(status.st_mode & 0o777, radix: 8)))",
                fix: "chmod 700 \(path)")
        }
    }

    // MARK: - Preparing

    /// Finds or fetches a provider's archive, verifies it, and opens the binary for `target`,
    /// checking it against its signed hash from the very descriptor that will be executed.
    ///
    /// A file is hashed to find its entry. A digest reference, or a tag with `offline`, is
    /// served from the cache with no network at all; a tag otherwise asks the registry for its
    /// digest (a manifest HEAD) and downloads only when it changed. A cached binary whose hash
    /// no longer matches is never returned: it is removed and fetched again (offline, refused).
    ///
    /// - Parameters:
    ///   - source: The archive file or registry reference.
    ///   - target: The binary to prepare; this machine's by default.
    ///   - policy: Trusted issuers, expiry: checked on every call, cached or not.
    ///   - offline: Never reach the registry.
    ///   - registry: The client for a reference.
    ///   - events: Told, in one line each, what the cache did that a person should know.
    /// - Returns: The open, verified binary.
    /// - Throws: ``ProviderCacheError``.
    public func prepare(
        _ source: ProviderSource, target: Target = .native, policy: VerificationPolicy = .default, offline: Bool = false,
        registry: ProviderRegistry? = nil, events: (@Sendable (String) -> Void)? = nil
    ) async throws(ProviderCacheError) -> PreparedProvider {
        switch source {
        case .file(let path):
            let digest = try digest(ofArchive: path)
            let lock = try acquire(digest)
            return try withExtendedLifetime(lock) { () throws(ProviderCacheError) in
                switch try verified(archive: digest, target: target, policy: policy, source: source) {
                case .ready(let prepared): return prepared
                case .mismatched(let path): events?(Self.refetching(path, of: source))
                case .absent: break
                }
                try fill(archive: digest, from: path, target: target, policy: policy)
                return try verifiedOrThrow(archive: digest, target: target, policy: policy, source: source)
            }
        case .reference(let reference):
            let manifest = try await manifestDigest(of: reference, offline: offline, registry: registry)
            let lock = try acquire(manifest)
            defer { withExtendedLifetime(lock) {} }
            if let archive = archiveDigest(forManifest: manifest) {
                switch try verified(archive: archive, target: target, policy: policy, source: source) {
                case .ready(let prepared): return prepared
                case .mismatched(let path) where offline || registry == nil: throw .tampered(path: path)
                case .mismatched(let path): events?(Self.refetching(path, of: source))
                case .absent: break
                }
            }
            guard !offline, let registry else { throw .notCached(source.description) }
            let archive = try await download(reference, manifest: manifest, target: target, policy: policy, registry: registry)
            return try verifiedOrThrow(archive: archive, target: target, policy: policy, source: source)
        }
    }

    /// The manifest digest a reference names: its own, the tag's recorded one offline, or
    /// the registry's answer (recorded for later offline runs).
    private func manifestDigest(
        of reference: ImageReference, offline: Bool, registry: ProviderRegistry?
    ) async throws(ProviderCacheError) -> SHA256Hash {
        if let digest = reference.digest { return digest }
        let record = tagRecordPath(reference)
        guard !offline, let registry else {
            guard let text = try? readSmallFile(record), let json = try? JSONValue(parsing: text),
                let digest = json["manifest"]?.stringValue.flatMap(SHA256Hash.init(ociDigest:))
            else { throw .notCached(reference.description) }
            return digest
        }
        let digest: SHA256Hash
        do {
            digest = try await registry.resolve(reference)
        } catch {
            throw .registry(error)
        }
        let json = JSONValue.object([
            ("reference", .string(reference.description)), ("manifest", .string(digest.ociDigest)),
            ("resolved_at", .number(String(Int(Date().timeIntervalSince1970)))),
        ])
        try writeSmallFile(record, Array(json.serialized.utf8))
        return digest
    }

    /// Pulls the archive a manifest names into `downloads/` (of an image index, only the
    /// slice of `target`), verified, and fills the cache from it. Returns the archive's digest.
    private func download(
        _ reference: ImageReference, manifest: SHA256Hash, target: Target, policy: VerificationPolicy,
        registry: ProviderRegistry
    ) async throws(ProviderCacheError) -> SHA256Hash {
        let pinned = ImageReference.pinning(reference, to: manifest)
        let pulled: ProviderRegistry.PullResult
        do {
            // The name is fixed per manifest: a download a killed process left is removed by the next.
            pulled = try await registry.pull(
                pinned, to: .named(folder: root + "/downloads", name: manifest.lowercaseHex), expectedDigest: manifest,
                allowLatest: true, policy: policy, platform: .target(target))
        } catch {
            throw .registry(error)
        }
        defer { unlink(pulled.path) }
        // A single slice or archive is always one layer.
        guard let layer = pulled.layerDigest else { throw .notCached(reference.description) }
        try fill(archive: layer, from: pulled.path, target: target, policy: policy)
        try writeSmallFile(root + "/refs/" + manifest.lowercaseHex, Array(layer.ociDigest.utf8))
        return layer
    }

    /// Extracts and verifies `target` from an archive file into `binaries/`, then records the
    /// archive's claims. The binary is renamed into place only once the whole archive verified.
    private func fill(archive digest: SHA256Hash, from path: String, target: Target, policy: VerificationPolicy) throws(ProviderCacheError) {
        let incoming = root + "/binaries/incoming-" + digest.lowercaseHex
        let report: VerifiedArchive
        do {
            report = try ProviderArchive.extract(target, fromArchiveAt: path, to: incoming, policy: policy)
        } catch .targetNotFound(let missing, let available) {
            throw .missingTarget(missing, available: available)
        } catch {
            throw .archive(error)
        }
        guard let hash = report.claims.metadata.targetHashes[target] else {
            unlink(incoming)
            throw .missingTarget(target, available: report.targets.keys.sorted())
        }
        let binary = binaryPath(hash)
        guard chmod(incoming, 0o500) == 0, rename(incoming, binary) == 0 else {
            let code = errno
            unlink(incoming)
            throw .file(FileError(operation: "write", path: binary, code: code))
        }
        try writeSmallFile(claimsPath(digest), Array(report.token.encoded.utf8))
    }

    /// What the cache holds for one archive and target.
    enum Lookup {
        /// The binary, verified and open.
        case ready(PreparedProvider)
        /// Nothing, or not this target's binary.
        case absent
        /// A binary that no longer matched its signed hash: removed, never run.
        case mismatched(path: String)
    }

    /// The event of a cached binary that no longer matched and is fetched again.
    private static func refetching(_ path: String, of source: ProviderSource) -> String {
        "the cached binary \(path) of \(source) no longer matches its signed hash: it was removed, not run, and is fetched again"
    }

    private func verifiedOrThrow(
        archive digest: SHA256Hash, target: Target, policy: VerificationPolicy, source: ProviderSource
    ) throws(ProviderCacheError) -> PreparedProvider {
        switch try verified(archive: digest, target: target, policy: policy, source: source) {
        case .ready(let prepared): return prepared
        case .mismatched(let path): throw .tampered(path: path)
        case .absent: throw .notCached(source.description)
        }
    }

    /// Checks a cached archive's claims against the policy and its binary against its hash,
    /// read from the descriptor returned. A binary that no longer matches is removed.
    private func verified(
        archive digest: SHA256Hash, target: Target, policy: VerificationPolicy, source: ProviderSource
    ) throws(ProviderCacheError) -> Lookup {
        guard let tokenBytes = try? readSmallFile(claimsPath(digest)) else { return .absent }
        let token: ClaimsToken
        do {
            token = try ClaimsToken(verifying: tokenBytes, policy: policy)
        } catch {
            throw .archive(.claims(error))
        }
        guard let hash = token.claims.metadata.targetHashes[target] else {
            throw .missingTarget(target, available: token.claims.metadata.targetHashes.keys.sorted())
        }
        let path = binaryPath(hash)
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return .absent }
        // Shared while it is prepared or running: prune removes only what nobody holds.
        _ = flock(descriptor, LOCK_SH)
        var hasher = SHA256Hasher()
        do {
            try FileSource(borrowing: descriptor, path: path).forEachChunk { hasher.update($0) }
        } catch {
            close(descriptor)
            throw .file(error as? FileError ?? FileError(operation: "read", path: path, code: EIO))
        }
        guard hasher.finalize() == hash else {
            close(descriptor)
            unlink(path)
            return .mismatched(path: path)
        }
        // Last used: what prune goes by.
        _ = futimens(descriptor, nil)
        return .ready(
            PreparedProvider(
                descriptor: descriptor, path: path, token: token, target: target, archiveDigest: digest, binaryHash: hash,
                source: source))
    }

    // MARK: - Files

    func binaryPath(_ hash: SHA256Hash) -> String { root + "/binaries/" + hash.lowercaseHex }
    func claimsPath(_ archive: SHA256Hash) -> String { root + "/claims/" + archive.lowercaseHex + ".jwt" }

    private func tagRecordPath(_ reference: ImageReference) -> String {
        root + "/tags/" + SHA256Hash.of(Array(reference.description.utf8)).lowercaseHex + ".json"
    }

    private func archiveDigest(forManifest manifest: SHA256Hash) -> SHA256Hash? {
        guard let bytes = try? readSmallFile(root + "/refs/" + manifest.lowercaseHex) else { return nil }
        return SHA256Hash(ociDigest: String(decoding: bytes, as: UTF8.self))
    }

    /// The whole of a small cache file (claims, records), bounded.
    func readSmallFile(_ path: String) throws -> [UInt8] {
        guard let bytes = try FileSource(path: path).readAll(limit: ClaimsToken.maximumSize) else {
            throw FileError(operation: "read", path: path, code: EFBIG)
        }
        return bytes
    }

    private func writeSmallFile(_ path: String, _ bytes: [UInt8]) throws(ProviderCacheError) {
        do {
            let sink = try AtomicFileSink(destination: path, mode: 0o600)
            try sink.write(bytes)
            try sink.commit()
        } catch let error as FileError {
            throw .file(error)
        } catch {
            throw .file(FileError(operation: "write", path: path, code: EIO))
        }
    }

    /// The SHA-256 of an archive file: recorded, while the file's identity and times are
    /// unchanged; else streamed, and recorded.
    private func digest(ofArchive path: String) throws(ProviderCacheError) -> SHA256Hash {
        var status = stat()
        guard stat(path, &status) == 0 else { throw .file(FileError(operation: "open", path: path, code: errno)) }
        let identity = [
            String(status.st_dev), String(status.st_ino), String(status.st_size), String(status.st_mtim.tv_sec),
            String(status.st_mtim.tv_nsec), String(status.st_ctim.tv_sec), String(status.st_ctim.tv_nsec),
        ].joined(separator: " ")
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        let record = root + "/files/" + SHA256Hash.of(Array(absolute.utf8)).lowercaseHex + ".json"
        if let bytes = try? readSmallFile(record), let json = try? JSONValue(parsing: bytes),
            json["identity"]?.stringValue == identity,
            let digest = json["digest"]?.stringValue.flatMap(SHA256Hash.init(ociDigest:))
        {
            return digest
        }
        let digest = try Self.digest(ofFile: path)
        let json = JSONValue.object([
            ("path", .string(absolute)), ("identity", .string(identity)), ("digest", .string(digest.ociDigest)),
        ])
        try? writeSmallFile(record, Array(json.serialized.utf8))
        return digest
    }

    /// The SHA-256 of a file, streamed.
    private static func digest(ofFile path: String) throws(ProviderCacheError) -> SHA256Hash {
        var hasher = SHA256Hasher()
        do {
            try FileSource(path: path).forEachChunk { hasher.update($0) }
        } catch let error as FileError {
            throw .file(error)
        } catch {
            throw .file(FileError(operation: "read", path: path, code: EIO))
        }
        return hasher.finalize()
    }

    /// The exclusive lock of one source, created when missing.
    private func acquire(_ key: SHA256Hash) throws(ProviderCacheError) -> FileLock {
        let path = root + "/locks/" + key.lowercaseHex
        let descriptor = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        if descriptor >= 0 { close(descriptor) }
        do {
            return try FileLock(path: path)
        } catch {
            throw .file(error)
        }
    }
}

extension ImageReference {
    /// The reference with its digest pinned.
    static func pinning(_ reference: ImageReference, to digest: SHA256Hash) -> ImageReference {
        (try? ImageReference("\(reference.registry)/\(reference.repository)@\(digest.ociDigest)")) ?? reference
    }
}
