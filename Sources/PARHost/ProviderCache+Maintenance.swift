import Foundation
import PARBytes
import PARClaims

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One cached binary: which archive and target it is, where it came from, its size and
/// when a `prepare` last used it.
public struct CacheEntry: Sendable {
    /// The provider's name, as its claims give it.
    public let name: String?
    /// The sources (files are not recorded; references are) that named its archive.
    public let sources: [String]
    /// The archive's SHA-256.
    public let archiveDigest: SHA256Hash
    /// The target.
    public let target: Target
    /// The binary's SHA-256.
    public let binaryHash: SHA256Hash
    /// The binary's size in bytes.
    public let size: UInt64
    /// When a prepare last used it (seconds since 1970).
    public let lastUsed: UInt64
}

extension ProviderCache {
    /// Every cached binary, least recently used first.
    ///
    /// - Returns: The entries.
    public func entries() -> [CacheEntry] {
        let manager = FileManager.default
        var sourcesByArchive: [SHA256Hash: [String]] = [:]
        var archiveByManifest: [SHA256Hash: SHA256Hash] = [:]
        for name in (try? manager.contentsOfDirectory(atPath: root + "/refs")) ?? [] {
            guard let manifest = SHA256Hash(hex: name), let bytes = try? readSmallFile(root + "/refs/" + name),
                let archive = SHA256Hash(ociDigest: String(decoding: bytes, as: UTF8.self))
            else { continue }
            archiveByManifest[manifest] = archive
        }
        for name in (try? manager.contentsOfDirectory(atPath: root + "/tags")) ?? [] {
            guard let bytes = try? readSmallFile(root + "/tags/" + name), let json = try? JSONValue(parsing: bytes),
                let reference = json["reference"]?.stringValue,
                let manifest = json["manifest"]?.stringValue.flatMap(SHA256Hash.init(ociDigest:)),
                let archive = archiveByManifest[manifest]
            else { continue }
            sourcesByArchive[archive, default: []].append(reference)
        }
        var entries: [CacheEntry] = []
        for name in (try? manager.contentsOfDirectory(atPath: root + "/claims")) ?? [] where name.hasSuffix(".jwt") {
            guard let archive = SHA256Hash(hex: String(name.dropLast(4))),
                let bytes = try? readSmallFile(root + "/claims/" + name),
                let claims = try? ClaimsToken.decodeWithoutVerifying(bytes)
            else { continue }
            for (target, hash) in claims.metadata.targetHashes {
                var status = stat()
                guard stat(binaryPath(hash), &status) == 0 else { continue }
                entries.append(
                    CacheEntry(
                        name: claims.metadata.name, sources: sourcesByArchive[archive, default: []].sorted(),
                        archiveDigest: archive, target: target, binaryHash: hash, size: UInt64(status.st_size),
                        lastUsed: UInt64(max(0, status.st_mtim.tv_sec))))
            }
        }
        return entries.sorted { ($0.lastUsed, $0.binaryHash.hex) < ($1.lastUsed, $1.binaryHash.hex) }
    }

    /// Removes cached binaries, least recently used first, until they take at most `maxSize`
    /// bytes, and every one unused for longer than `olderThan`. A binary that a `prepare`
    /// holds, or a provider started from it is running, is never removed.
    ///
    /// - Parameters:
    ///   - maxSize: The most bytes the binaries may take after pruning.
    ///   - olderThan: Seconds of disuse after which a binary goes.
    /// - Returns: The entries removed.
    @discardableResult
    public func prune(maxSize: UInt64? = nil, olderThan: UInt64? = nil) -> [CacheEntry] {
        let entries = entries()
        var total = entries.reduce(0) { $0 + $1.size }
        let now = UInt64(Date().timeIntervalSince1970)
        var removed: [CacheEntry] = []
        for entry in entries {
            let tooBig = maxSize.map { total > $0 } ?? false
            let tooOld = olderThan.map { now >= entry.lastUsed && now - entry.lastUsed > $0 } ?? false
            guard tooBig || tooOld, removeUnlessHeld(binaryPath(entry.binaryHash)) else { continue }
            total -= entry.size
            removed.append(entry)
        }
        return removed
    }

    /// Removes a binary nobody holds: its exclusive lock is taken without waiting first.
    private func removeUnlessHeld(_ path: String) -> Bool {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else { return false }
        return unlink(path) == 0
    }
}
