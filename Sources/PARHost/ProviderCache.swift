import Foundation
import PARBytes
import PARClaims
import PARRegistry
import ProviderArchiveKit

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
/// - `locks/`: per-source locks (`HEX`) and per-binary locks (`binary-HEX`);
/// - `downloads/`: archives being downloaded, and spooled pipes (unlinked at once).
///
/// Every file is written under a temporary name and renamed; nothing is rewritten in place,
/// so a running binary is never changed and a half-written file is never read. Only regular
/// files are opened, never waiting: anything else found in the cache is removed. A damaged
/// record is removed and rebuilt from the source. Concurrent
/// ``prepare(_:target:policy:offline:registry:allowsLatest:events:)`` calls of one source, from threads
/// or processes, fetch and extract once: the others wait on the source's lock and reuse it.
public struct ProviderCache: Sendable {
    /// The cache's folder.
    public let root: String

    /// The conventional folder: `$XDG_CACHE_HOME/par`, else `~/.cache/par`.
    ///
    /// - Parameter environment: Where to read `XDG_CACHE_HOME` and `HOME`.
    /// - Returns: The folder's path.
    public static func standardRoot(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        if let cache = value("XDG_CACHE_HOME") { return cache + "/par" }
        return (value("HOME") ?? NSHomeDirectory()) + "/.cache/par"
    }

    /// Opens the cache at `root`, creating its folders (0700) when missing.
    ///
    /// - Parameter root: The cache's folder.
    /// - Throws: ``ProviderCacheError/unsafeFolder(path:problem:)`` when a folder is owned
    ///   by another user or writable by others: a binary there could be swapped.
    public init(root: String) throws(ProviderCacheError) {
        self.root = root
        try Self.ensureFolder(root)
        for folder in Self.folders { try Self.ensureFolder(root + "/" + folder) }
    }

    static let folders = ["binaries", "claims", "refs", "tags", "files", "locks", "downloads"]

    /// Creates a folder 0700 when missing, and refuses one that another user could change.
    private static func ensureFolder(_ path: String) throws(ProviderCacheError) {
        do {
            try System.makeFolder(path, permissions: 0o700)
        } catch {
            if error.code == Errno.notFound {
                // The parents (~/.cache) are ordinary folders: made as the user's umask says.
                try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            }
            // Whatever mkdir said (EROFS, say), a folder that is there will do.
            do {
                _ = try System.status(at: path)
            } catch {
                throw .file(FileError(operation: "create", path: path, code: error.code))
            }
        }
        let status: FileStatus
        do {
            status = try System.status(at: path, followingLinks: false)
        } catch {
            throw .file(error)
        }
        guard status.isDirectory else {
            throw .unsafeFolder(path: path, problem: .notAFolder)
        }
        guard status.owner == System.effectiveUserID else {
            throw .unsafeFolder(path: path, problem: .ownedByAnotherUser(owner: status.owner, thisUser: System.effectiveUserID))
        }
        guard status.permissions & 0o022 == 0 else {
            throw .unsafeFolder(path: path, problem: .writableByOthers(mode: status.mode))
        }
    }

    // MARK: - Preparing

    /// Finds or fetches a provider's archive, verifies it, and opens the binary for `target`,
    /// checking it against its signed hash from the very descriptor that will be executed.
    ///
    /// A file is opened once: hashed (or known by its recorded digest while its identity and
    /// times are unchanged), and extracted from that same descriptor; a pipe is spooled once.
    /// A device or socket is refused. A digest reference, or a tag with `offline`, is served
    /// from the cache with no network at all; a tag otherwise asks the registry for its
    /// digest (a manifest HEAD) and downloads only when it changed. A cached binary whose hash
    /// no longer matches is never returned: it is removed and fetched again (offline, refused).
    ///
    /// - Parameters:
    ///   - source: The archive file or registry reference.
    ///   - target: The binary to prepare; this machine's by default.
    ///   - policy: Trusted issuers, expiry: checked on every call, cached or not.
    ///   - offline: Never reach the registry.
    ///   - registry: The client for a reference.
    ///   - allowsLatest: Take a reference tagged `latest`, or untagged, or a layout entry
    ///     named `latest`, which move under the cache: the registry client's `allowsLatest`
    ///     by default, and `false` without one. The registry's rules,
    ///     `ProviderRegistry.checkTag(of:allowsLatest:forPush:)` and
    ///     `ProviderRegistry.checkName(of:allowsLatest:)`, decide, offline too.
    ///   - events: Told each ``CacheEvent`` a person should know of.
    /// - Returns: The open, verified binary.
    /// - Throws: ``ProviderCacheError``.
    public func prepare(
        _ source: ProviderSource, target: Target = .native, policy: VerificationPolicy = .default, offline: Bool = false,
        registry: ProviderRegistry? = nil, allowsLatest: Bool? = nil, events: CacheEvents? = nil
    ) async throws(ProviderCacheError) -> PreparedProvider {
        let allowsLatest = allowsLatest ?? registry?.allowsLatest ?? false
        do {
            switch source {
            case .reference(let reference): try ProviderRegistry.checkTag(of: reference, allowsLatest: allowsLatest)
            case .layout(let layout): try ProviderRegistry.checkName(of: layout, allowsLatest: allowsLatest)
            case .file: break
            }
        } catch {
            throw .registry(error)
        }
        switch source {
        case .file(let path):
            // Opening, hashing, waiting for the lock and extracting all block: on a thread of
            // their own, never on a cooperative one.
            return try await offload { () throws(ProviderCacheError) -> PreparedProvider in
                try prepareFile(at: path, target: target, policy: policy, events: events)
            }
        case .layout(let layout):
            let manifest: SHA256Hash
            do {
                manifest = try await ProviderRegistry.resolve(layout: layout, allowsLatest: allowsLatest)
            } catch {
                throw .registry(error)
            }
            return try await prepare(manifest: manifest, source: source, target: target, policy: policy, events: events) {
                () async throws(RegistryError) -> ProviderRegistry.PullResult in
                try await ProviderRegistry.pull(
                    fromLayout: layout, to: .named(folder: root + "/downloads", name: manifest.lowercaseHex), expectedDigest: manifest,
                    policy: policy, platform: .target(target), allowsLatest: allowsLatest)
            }
        case .reference(let reference):
            let manifest = try await manifestDigest(of: reference, offline: offline, registry: registry, events: events)
            guard !offline, let registry else {
                return try await prepare(manifest: manifest, source: source, target: target, policy: policy, events: events, pull: nil)
            }
            return try await prepare(manifest: manifest, source: source, target: target, policy: policy, events: events) {
                () async throws(RegistryError) -> ProviderRegistry.PullResult in
                try await registry.pull(
                    ImageReference.pinning(reference, to: manifest), to: .named(folder: root + "/downloads", name: manifest.lowercaseHex),
                    expectedDigest: manifest, policy: policy, platform: .target(target))
            }
        }
    }

    /// Prepares what a manifest names (a reference's or a layout's): from the cache, else
    /// fetched with `pull`; without one (offline, or no registry client) only the cache is
    /// used, and a damaged or tampered entry is an error rather than fetched again.
    private func prepare(
        manifest: SHA256Hash, source: ProviderSource, target: Target, policy: VerificationPolicy, events: CacheEvents?,
        pull: (() async throws(RegistryError) -> ProviderRegistry.PullResult)?
    ) async throws(ProviderCacheError) -> PreparedProvider {
        // Held, by its descriptor, across the download: other prepares of this manifest
        // wait for it on threads of their own, then find the binary this one cached.
        let lock = try await offload { () throws(ProviderCacheError) -> CacheLock? in
            try CacheLock.acquire(lockPath(manifest), shared: false, events: events)
        }
        defer { withExtendedLifetime(lock) {} }
        let found = try await offload { () throws(ProviderCacheError) -> Lookup in
            try cached(manifest: manifest, target: target, policy: policy, source: source, events: events)
        }
        switch found {
        case .ready(let prepared): return prepared
        case .mismatched(let path) where pull == nil: throw .tampered(path: path)
        case .mismatched(let path): events?(.refetchingBinary(path: path, source: source))
        case .damaged(let path, let reason) where pull == nil: throw .damagedRecord(path: path, reason: reason)
        case .damaged(let path, let reason): events?(.rebuildingRecord(path: path, reason: reason, source: source))
        case .absent: break
        }
        guard let pull else { throw .notCached(source.description) }
        return try await download(manifest: manifest, target: target, policy: policy, source: source, events: events, pull: pull)
    }

    /// Prepares an archive file: opened once, hashed (or known by its record), and, unless
    /// the cache holds its binary, extracted from that same descriptor under the archive's
    /// lock. Blocks: run it on a thread of its own.
    private func prepareFile(
        at path: String, target: Target, policy: VerificationPolicy, events: CacheEvents?
    ) throws(ProviderCacheError) -> PreparedProvider {
        let source = ProviderSource.file(path)
        let input = try ArchiveInput(opening: path, spoolFolder: root + "/downloads")
        let digest = try digest(of: input, events: events)
        let lock = try CacheLock.acquire(lockPath(digest), shared: false, events: events)
        return try withExtendedLifetime(lock) { () throws(ProviderCacheError) in
            switch try verified(archive: digest, target: target, policy: policy, source: source, events: events) {
            case .ready(let prepared): return prepared
            case .mismatched(let path): events?(.refetchingBinary(path: path, source: source))
            case .damaged(let path, let reason): events?(.rebuildingRecord(path: path, reason: reason, source: source))
            case .absent: break
            }
            return try fill(archive: digest, from: input, target: target, policy: policy, source: source, events: events)
        }
    }

    /// What the cache holds for a manifest: its recorded archive's binary for `target`,
    /// verified. Blocks (it hashes the binary): run it on a thread of its own.
    private func cached(
        manifest: SHA256Hash, target: Target, policy: VerificationPolicy, source: ProviderSource, events: CacheEvents?
    ) throws(ProviderCacheError) -> Lookup {
        switch try archiveDigest(forManifest: manifest, events: events) {
        case .recorded(let archive): try verified(archive: archive, target: target, policy: policy, source: source, events: events)
        case .damaged(let path, let reason): .damaged(path: path, reason: reason)
        case .absent: .absent
        }
    }

    /// The manifest digest a reference names: its own, the tag's recorded one offline, or
    /// the registry's answer (recorded for later offline runs when the cache can be written).
    private func manifestDigest(
        of reference: ImageReference, offline: Bool, registry: ProviderRegistry?, events: CacheEvents?
    ) async throws(ProviderCacheError) -> SHA256Hash {
        if let digest = reference.digest { return digest }
        let record = tagRecordPath(reference)
        guard !offline, let registry else {
            guard let text = try CacheFiles.readSmall(record, limit: Self.recordLimit, events: events) else {
                throw .notCached(reference.description)
            }
            guard let json = try? JSONValue(parsing: text),
                let digest = json["manifest"]?.stringValue.flatMap(SHA256Hash.init(ociDigest:))
            else {
                System.unlink(record)
                throw .damagedRecord(path: record, reason: "not a tag record")
            }
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
        // Only an offline run needs it: a cache that cannot be written still starts providers.
        try? CacheFiles.writeSmall(record, Array(json.serialized.utf8))
        return digest
    }

    /// Pulls the archive a manifest names into `downloads/` with `pull` (of an image index,
    /// only the slice of `target`), verified, and fills the cache from it.
    private func download(
        manifest: SHA256Hash, target: Target, policy: VerificationPolicy, source: ProviderSource, events: CacheEvents?,
        pull: () async throws(RegistryError) -> ProviderRegistry.PullResult
    ) async throws(ProviderCacheError) -> PreparedProvider {
        let pulled: ProviderRegistry.PullResult
        do {
            // The name is fixed per manifest (`downloads/HEX`): a download a killed process
            // left is removed by the next, or by prune once nobody holds the manifest's lock.
            pulled = try await pull()
        } catch {
            throw .registry(error)
        }
        // Opened once, then unlinked: the bytes the pull verified are the ones read here.
        // Reading and extracting block: on a thread of their own.
        return try await offload { () throws(ProviderCacheError) -> PreparedProvider in
            let input: ArchiveInput
            do throws(ProviderCacheError) {
                input = try ArchiveInput(opening: pulled.path, spoolFolder: root + "/downloads")
            } catch {
                System.unlink(pulled.path)
                throw error
            }
            System.unlink(pulled.path)
            // A single slice or archive is one layer, whose digest the pull checked.
            let layer = pulled.layerDigest
            let prepared = try fill(archive: layer, from: input, target: target, policy: policy, source: source, events: events)
            try CacheFiles.writeSmall(root + "/refs/" + manifest.lowercaseHex, Array(layer.ociDigest.utf8))
            return prepared
        }
    }

    /// Extracts and verifies `target` from an archive into `binaries/`, hashing every byte
    /// read: the claims are recorded under `digest` only when that is what was read. The
    /// binary is renamed into place only once the whole archive verified, and is opened and
    /// locked before it is, so no prune can remove it between the two.
    private func fill(
        archive digest: SHA256Hash, from input: ArchiveInput, target: Target, policy: VerificationPolicy,
        source: ProviderSource, events: CacheEvents?
    ) throws(ProviderCacheError) -> PreparedProvider {
        let incoming = root + "/binaries/incoming-\(System.processID)-\(UInt32.random(in: 0 ... .max))-" + digest.lowercaseHex
        let read = DigestingSource(input.contents())
        let report: VerifiedArchive
        do {
            report = try ProviderArchive.extract(target, from: read, to: incoming, policy: policy)
            _ = try read.drain()
        } catch let error as ProviderArchiveError {
            System.unlink(incoming)
            if case .targetNotFound(let missing, let available) = error { throw .missingTarget(missing, available: available) }
            throw .archive(error)
        } catch {
            System.unlink(incoming)
            throw .file(error as? FileError ?? FileError(operation: "read", path: input.path, code: Errno.inputOutput))
        }
        guard read.digest == digest else {
            System.unlink(incoming)
            System.unlink(fileRecordPath(input))
            throw .changedWhileRead(path: input.path)
        }
        guard let hash = report.claims.metadata.targetHashes[target] else {
            System.unlink(incoming)
            throw .missingTarget(target, available: report.targets.keys.sorted())
        }
        let binary = binaryPath(hash)
        let descriptor = try install(incoming, as: hash, events: events)
        do throws(ProviderCacheError) {
            try CacheFiles.writeSmall(claimsPath(digest), Array(report.token.encoded.utf8))
            // Checked once more from the descriptor that will run, as every cached start is.
            guard try Self.hash(of: descriptor, path: binary) == hash else {
                System.unlink(binary)
                throw ProviderCacheError.tampered(path: binary)
            }
        } catch {
            System.close(descriptor)
            throw error
        }
        System.touch(descriptor)
        return PreparedProvider(
            descriptor: descriptor, path: binary, token: report.token, target: target, archiveDigest: digest, binaryHash: hash,
            source: source)
    }

    /// Renames an extracted binary into place, opened and locked shared before it is (under
    /// the binary's lock, so no prune removes it between the two); removes it on failure.
    ///
    /// - Returns: The binary's descriptor, holding the shared lock.
    private func install(_ incoming: String, as hash: SHA256Hash, events: CacheEvents?) throws(ProviderCacheError) -> Int32 {
        let binary = binaryPath(hash)
        do {
            return try withBinaryLock(hash, events: events) { () throws(ProviderCacheError) -> Int32 in
                guard case .file(let descriptor) = try CacheFiles.open(incoming, events: events) else {
                    throw .file(FileError(operation: "open", path: incoming, code: Errno.notFound))
                }
                _ = try? System.lock(descriptor, path: incoming, shared: true)
                do throws(FileError) {
                    guard System.setPermissions(descriptor, 0o500) else {
                        throw FileError(operation: "write", path: binary, code: Errno.current)
                    }
                    try System.rename(incoming, to: binary)
                } catch {
                    System.close(descriptor)
                    throw .file(FileError(operation: "write", path: binary, code: error.code))
                }
                return descriptor
            }
        } catch {
            System.unlink(incoming)
            throw error
        }
    }

    /// What the cache holds for one archive and target.
    enum Lookup: Sendable {
        /// The binary, verified and open.
        case ready(PreparedProvider)
        /// Nothing, or not this target's binary.
        case absent
        /// A binary that no longer matched its signed hash: removed, never run.
        case mismatched(path: String)
        /// A record that could not be read or was not what it should be: removed.
        case damaged(path: String, reason: String)
    }

    /// Checks a cached archive's claims against the policy and its binary against its hash,
    /// read from the descriptor returned. A binary that no longer matches is removed; a claims
    /// record that is not a valid token is removed, as damaged.
    private func verified(
        archive digest: SHA256Hash, target: Target, policy: VerificationPolicy, source: ProviderSource, events: CacheEvents?
    ) throws(ProviderCacheError) -> Lookup {
        let record = claimsPath(digest)
        let tokenBytes: [UInt8]
        do {
            guard let bytes = try CacheFiles.readSmall(record, limit: ClaimsToken.maximumSize, events: events) else { return .absent }
            tokenBytes = bytes
        } catch .file(let error) where error.code != Errno.notFound {
            System.unlink(record)
            return .damaged(path: record, reason: "unreadable: \(error)")
        }
        // Only verified tokens are recorded: one whose signature fails is damage, not a verdict.
        let token: ClaimsToken
        do {
            token = try ClaimsToken(verifying: tokenBytes, policy: policy)
        } catch {
            guard (try? ClaimsToken(verifying: tokenBytes, policy: VerificationPolicy(allowsExpired: true))) != nil else {
                System.unlink(record)
                return .damaged(path: record, reason: "\(error)")
            }
            throw .archive(.claims(error))
        }
        guard let hash = token.claims.metadata.targetHashes[target] else {
            throw .missingTarget(target, available: token.claims.metadata.targetHashes.keys.sorted())
        }
        let path = binaryPath(hash)
        let opened = try withBinaryLock(hash, events: events) { () throws(ProviderCacheError) -> Int32? in
            guard case .file(let descriptor) = try CacheFiles.open(path, events: events) else { return nil }
            // Shared while it is prepared or running: prune removes only what nobody holds.
            _ = try? System.lock(descriptor, path: path, shared: true)
            return descriptor
        }
        guard let descriptor = opened else { return .absent }
        let matches: Bool
        do throws(ProviderCacheError) {
            matches = try Self.hash(of: descriptor, path: path) == hash
        } catch {
            System.close(descriptor)
            throw error
        }
        guard matches else {
            System.close(descriptor)
            System.unlink(path)
            return .mismatched(path: path)
        }
        // Last used: what prune goes by (a read-only cache keeps the old time).
        System.touch(descriptor)
        return .ready(
            PreparedProvider(
                descriptor: descriptor, path: path, token: token, target: target, archiveDigest: digest, binaryHash: hash,
                source: source))
    }

    /// Runs `body` holding the shared lock of one binary, which prune takes exclusively
    /// before it removes the binary: a binary opened and locked under it is never removed
    /// until its holder is gone.
    private func withBinaryLock<Result>(
        _ hash: SHA256Hash, events: CacheEvents?, _ body: () throws(ProviderCacheError) -> Result
    ) throws(ProviderCacheError) -> Result {
        let lock = try CacheLock.acquire(binaryLockPath(hash), shared: true, events: events)
        return try withExtendedLifetime(lock) { () throws(ProviderCacheError) in try body() }
    }

    /// The SHA-256 of an open file, from its start.
    private static func hash(of descriptor: Int32, path: String) throws(ProviderCacheError) -> SHA256Hash {
        do {
            return try DigestingSource.digest(of: FileSource(borrowing: descriptor, path: path, fromStart: true)).hash
        } catch {
            throw .file(error as? FileError ?? FileError(operation: "read", path: path, code: Errno.inputOutput))
        }
    }

    // MARK: - Files

    /// The most bytes a record (refs, tags, files) may hold.
    static let recordLimit = 64 << 10

    func binaryPath(_ hash: SHA256Hash) -> String { root + "/binaries/" + hash.lowercaseHex }
    func claimsPath(_ archive: SHA256Hash) -> String { root + "/claims/" + archive.lowercaseHex + ".jwt" }
    func lockPath(_ source: SHA256Hash) -> String { root + "/locks/" + source.lowercaseHex }
    func binaryLockPath(_ hash: SHA256Hash) -> String { root + "/locks/binary-" + hash.lowercaseHex }

    private func tagRecordPath(_ reference: ImageReference) -> String {
        root + "/tags/" + SHA256Hash.of(Array(reference.description.utf8)).lowercaseHex + ".json"
    }

    private func fileRecordPath(_ input: ArchiveInput) -> String {
        root + "/files/" + SHA256Hash.of(Array(input.absolutePath.utf8)).lowercaseHex + ".json"
    }

    /// What the cache records of a manifest's archive.
    enum Recorded {
        case recorded(SHA256Hash)
        case absent
        /// Unreadable or not a digest: removed.
        case damaged(path: String, reason: String)
    }

    /// The archive a manifest names, as recorded; a damaged record is removed.
    private func archiveDigest(forManifest manifest: SHA256Hash, events: CacheEvents?) throws(ProviderCacheError) -> Recorded {
        let record = root + "/refs/" + manifest.lowercaseHex
        let bytes: [UInt8]
        do {
            guard let read = try CacheFiles.readSmall(record, limit: Self.recordLimit, events: events) else { return .absent }
            bytes = read
        } catch {
            System.unlink(record)
            return .damaged(path: record, reason: "unreadable: \(error)")
        }
        guard let archive = SHA256Hash(ociDigest: String(decoding: bytes, as: UTF8.self)) else {
            System.unlink(record)
            return .damaged(path: record, reason: "not a digest")
        }
        return .recorded(archive)
    }

    /// The SHA-256 of an archive: a pipe's, hashed while spooled; a file's, recorded while
    /// the file's identity and times are unchanged, else read from its descriptor and recorded.
    private func digest(of input: ArchiveInput, events: CacheEvents?) throws(ProviderCacheError) -> SHA256Hash {
        guard let identity = input.identity else { return try input.digest() }
        let record = fileRecordPath(input)
        if let bytes = try? CacheFiles.readSmall(record, limit: Self.recordLimit, events: events) {
            if let json = try? JSONValue(parsing: bytes), json["identity"]?.stringValue == identity,
                let digest = json["digest"]?.stringValue.flatMap(SHA256Hash.init(ociDigest:))
            {
                return digest
            }
        }
        let digest = try input.digest()
        let json = JSONValue.object([
            ("path", .string(input.absolutePath)), ("identity", .string(identity)), ("digest", .string(digest.ociDigest)),
        ])
        try? CacheFiles.writeSmall(record, Array(json.serialized.utf8))
        return digest
    }
}

extension ImageReference {
    /// The reference with its digest pinned.
    static func pinning(_ reference: ImageReference, to digest: SHA256Hash) -> ImageReference {
        (try? ImageReference("\(reference.registry)/\(reference.repository)@\(digest.ociDigest)")) ?? reference
    }
}
