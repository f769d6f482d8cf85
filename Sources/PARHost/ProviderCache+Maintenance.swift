import Foundation
import PARBytes
import PARClaims


/// One cached binary: which archives and target it is, where it came from, its size and
/// when a `prepare` last used it. A binary two archives share is one entry.
public struct CacheEntry: Sendable {
    /// The provider's name, as its claims give it (`nil` when no recorded claims name it).
    public let name: String?
    /// The registry references (files are not recorded) that named one of its archives.
    public let sources: [String]
    /// The SHA-256 of each recorded archive holding this binary, sorted.
    public let archiveDigests: [SHA256Hash]
    /// The target (`nil` when no recorded claims name the binary).
    public let target: Target?
    /// The binary's SHA-256.
    public let binaryHash: SHA256Hash
    /// The binary's size in bytes.
    public let size: UInt64
    /// When a prepare last used it (to the second).
    public let lastUsed: Date
}

/// What a prune removed.
public struct PruneReport: Sendable {
    /// The binaries removed.
    public var binaries: [CacheEntry] = []
    /// Other files removed: temporary files no live process holds, downloads nobody is
    /// making, records of archive files that are gone or changed.
    public var otherFiles: [String] = []
    /// The bytes the removed binaries took.
    public var bytes: UInt64 { binaries.reduce(0) { $0 + $1.size } }
}

extension ProviderCache {
    /// Every cached binary, once each, least recently used first.
    ///
    /// - Parameter events: Told when something that is not a cache file was removed.
    /// - Returns: The entries.
    public func entries(events: CacheEvents? = nil) throws(ProviderCacheError) -> [CacheEntry] {
        var archiveByManifest: [SHA256Hash: SHA256Hash] = [:]
        for name in list("refs") {
            guard let manifest = SHA256Hash(hex: name),
                let bytes = try? CacheFiles.readSmall(root + "/refs/" + name, limit: Self.recordLimit, events: events),
                let archive = SHA256Hash(ociDigest: String(decoding: bytes, as: UTF8.self))
            else { continue }
            archiveByManifest[manifest] = archive
        }
        var sourcesByArchive: [SHA256Hash: [String]] = [:]
        for name in list("tags") {
            guard let bytes = try? CacheFiles.readSmall(root + "/tags/" + name, limit: Self.recordLimit, events: events),
                let json = try? JSONValue(parsing: bytes), let reference = json["reference"]?.stringValue,
                let manifest = json["manifest"]?.stringValue.flatMap(SHA256Hash.init(ociDigest:)),
                let archive = archiveByManifest[manifest]
            else { continue }
            sourcesByArchive[archive, default: []].append(reference)
        }
        // Which archives (and so names, targets and sources) each binary belongs to.
        var owners: [SHA256Hash: [(archive: SHA256Hash, name: String?, target: Target)]] = [:]
        for name in list("claims") where name.hasSuffix(".jwt") {
            guard let archive = SHA256Hash(hex: String(name.dropLast(4))),
                let bytes = try? CacheFiles.readSmall(root + "/claims/" + name, limit: ClaimsToken.maximumSize, events: events),
                let claims = try? ClaimsToken.decodeWithoutVerifying(bytes)
            else { continue }
            for (target, hash) in claims.metadata.targetHashes {
                owners[hash, default: []].append((archive, claims.metadata.name, target))
            }
        }
        var entries: [CacheEntry] = []
        for name in list("binaries") {
            guard let hash = SHA256Hash(hex: name) else { continue }
            guard case .file(let descriptor) = try CacheFiles.open(binaryPath(hash), events: events) else { continue }
            let status = try? System.status(of: descriptor, path: binaryPath(hash))
            System.close(descriptor)
            guard let status else { continue }
            let owning = (owners[hash] ?? []).sorted { $0.archive.hex < $1.archive.hex }
            let archives = owning.map(\.archive)
            entries.append(
                CacheEntry(
                    name: owning.first?.name, sources: Array(Set(archives.flatMap { sourcesByArchive[$0] ?? [] })).sorted(),
                    archiveDigests: archives, target: owning.first?.target, binaryHash: hash, size: status.size,
                    lastUsed: Date(timeIntervalSince1970: Double(max(0, status.modified.seconds)))))
        }
        return entries.sorted { ($0.lastUsed, $0.binaryHash.hex) < ($1.lastUsed, $1.binaryHash.hex) }
    }

    /// Removes cached binaries, least recently used first, until they take at most `maxSize`
    /// bytes, and every one unused for longer than `olderThan`; and, whatever the limits,
    /// what nothing needs: temporary files whose process is gone, downloads nobody is making,
    /// records of archive files that are gone or changed. A binary that a `prepare` holds, or
    /// that a provider started from it is running, is never removed.
    ///
    /// - Parameters:
    ///   - maxSize: The most bytes the binaries may take after pruning.
    ///   - olderThan: How long a binary may go unused before it goes (to the second).
    ///   - events: Told when something that is not a cache file was removed.
    /// - Returns: What was removed.
    @discardableResult
    public func prune(maxSize: UInt64? = nil, olderThan: Duration? = nil, events: CacheEvents? = nil) throws(ProviderCacheError) -> PruneReport {
        var report = PruneReport()
        removeJunk(into: &report, events: events)
        let entries = try entries(events: events)
        var total = entries.reduce(0) { $0 + $1.size }
        let now = Date().timeIntervalSince1970.rounded(.down)
        for entry in entries {
            let tooBig = maxSize.map { total > $0 } ?? false
            let unused = Duration.seconds(Int64(max(0, now - entry.lastUsed.timeIntervalSince1970)))
            let tooOld = olderThan.map { unused > $0 } ?? false
            guard tooBig || tooOld, try removeUnlessHeld(entry.binaryHash, events: events) else { continue }
            total -= entry.size
            report.binaries.append(entry)
        }
        return report
    }

    /// Removes a binary nobody holds, with its lock: the binary's lock first, so no prepare
    /// is between renaming it into place and locking it, then the binary's own lock, which
    /// every prepared or running provider holds shared. Neither is waited for.
    private func removeUnlessHeld(_ hash: SHA256Hash, events: CacheEvents?) throws(ProviderCacheError) -> Bool {
        let lockPath = binaryLockPath(hash)
        guard let lock = try CacheLock.acquire(lockPath, shared: false, wait: false, events: events) else { return false }
        return withExtendedLifetime(lock) {
            guard case .file(let descriptor)? = try? CacheFiles.open(binaryPath(hash), events: events) else { return false }
            defer { System.close(descriptor) }
            guard (try? System.lock(descriptor, path: binaryPath(hash), shared: false, wait: false)) == true,
                System.unlink(binaryPath(hash))
            else { return false }
            // A prepare waiting for the lock finds the file gone and makes a new one.
            System.unlink(lockPath)
            return true
        }
    }

    /// Removes what nothing needs, whatever the size limits.
    private func removeJunk(into report: inout PruneReport, events: CacheEvents?) {
        // Anything that is not a regular file: a pipe or device would wedge a reader, a link
        // would lead out of the cache.
        for folder in Self.folders {
            for name in list(folder) {
                let path = root + "/" + folder + "/" + name
                guard let kind = CacheFiles.kind(at: path) else { continue }
                if System.unlink(path) || System.removeFolder(path) {
                    report.otherFiles.append(folder + "/" + name)
                    events?(.removedStranger(path: path, kind: kind))
                }
            }
        }
        // Temporary files (`.par-...-PID-...tmp`, `incoming-PID-...`, `spool-PID-...`) of
        // processes that are gone.
        for folder in Self.folders {
            for name in list(folder) {
                let pid: Int32?
                if name.hasPrefix(".par-"), name.hasSuffix(".tmp") {
                    pid = Int32(name.split(separator: "-").dropFirst(2).first ?? "")
                } else if folder == "binaries" && name.hasPrefix("incoming-") || folder == "downloads" && name.hasPrefix("spool-") {
                    pid = Int32(name.split(separator: "-").dropFirst().first ?? "")
                } else {
                    continue
                }
                guard let pid, pid > 0, pid != System.processID, System.hasEnded(process: pid) else { continue }
                if System.unlink(root + "/" + folder + "/" + name) { report.otherFiles.append(folder + "/" + name) }
            }
        }
        // Finished downloads a killed run left: named by manifest, whose lock a download holds.
        for name in list("downloads") where !name.hasPrefix(".") && !name.hasPrefix("spool-") {
            guard let manifest = SHA256Hash(hex: String(name.prefix(64))),
                let lock = try? CacheLock.acquire(lockPath(manifest), shared: false, wait: false, events: events)
            else { continue }
            withExtendedLifetime(lock) {
                if System.unlink(root + "/downloads/" + name) { report.otherFiles.append("downloads/" + name) }
            }
        }
        // Digest records of archive files that are gone or changed.
        for name in list("files") where name.hasSuffix(".json") {
            let record = root + "/files/" + name
            guard let bytes = try? CacheFiles.readSmall(record, limit: Self.recordLimit, events: events) else { continue }
            if let json = try? JSONValue(parsing: bytes), let path = json["path"]?.stringValue,
                let identity = json["identity"]?.stringValue, Self.identity(ofFileAt: path) == identity
            {
                continue
            }
            if System.unlink(record) { report.otherFiles.append("files/" + name) }
        }
        // Locks of sources nobody is preparing: empty files, but one per source ever seen.
        for name in list("locks") where !name.hasPrefix("binary-") {
            guard let key = SHA256Hash(hex: name),
                let lock = try? CacheLock.acquire(lockPath(key), shared: false, wait: false, events: events)
            else { continue }
            withExtendedLifetime(lock) { _ = System.unlink(lockPath(key)) }
        }
    }

    /// The names in one of the cache's folders.
    private func list(_ folder: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: root + "/" + folder)) ?? []
    }

    /// The identity a digest record keeps of the file at `path`, or `nil` when it is gone.
    private static func identity(ofFileAt path: String) -> String? {
        (try? System.status(at: path)).map(ArchiveInput.identity(of:))
    }
}
