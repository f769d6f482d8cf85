import PARBytes
import PARClaims
import PARContainer

/// Reads a provider archive one entry at a time, like Go's `tar.Reader.Next()`: every load,
/// verify, extract and insert is a loop over ``next()``, so they cannot disagree about what
/// a valid archive is.
///
/// As it goes, the reader checks what PAR-FORMAT requires and the reference skips: entry
/// names and kinds, duplicates, the entry count, claims.jwt's signature and the policy (the
/// moment it arrives), that every binary and world.wasm is claimed, and each one's hash
/// (as soon as both the bytes and the claims are known). The content of the current entry is
/// read through ``read(into:)``; whatever a loop leaves unread is hashed and checked when it
/// moves on. ``finish(_:)`` then checks what only the end can tell: claims present, targets
/// present.
///
/// In ``Mode/unverified`` mode (showing what a damaged archive claims), claims.jwt is kept as
/// read and not checked, and entries that are not valid archive entries are skipped.
final class ArchiveReader: ByteSource {
    /// What the reader checks.
    enum Mode {
        /// Everything, claims.jwt against a policy.
        case verifying(VerificationPolicy)
        /// Nothing but sizes and the entry count: for reading claims.jwt's text only.
        case unverified
    }

    /// One entry: what it is, and its declared size.
    struct Entry {
        var name: ArchiveEntryName
        var size: UInt64
    }

    /// The most entries an archive may have; real ones have a handful of targets. The
    /// writers refuse to go past it too.
    static let maximumEntries = 1024
    /// The most targets an archive may have, written or read: the entry limit less claims.jwt
    /// and, when there is one, world.wasm.
    static func maximumTargets(withWorld: Bool) -> Int {
        maximumEntries - 1 - (withWorld ? 1 : 0)
    }

    /// The most binary bytes a load keeps before claims.jwt has been verified: binaries that
    /// come first are held unverified, so an archive cannot make that grow with its size.
    static let maximumUnverifiedBytes = 64 << 20

    /// Whether the archive is gzip (PAR-FORMAT section 1: `1f 8b`).
    let isCompressed: Bool
    /// The verified claims, once claims.jwt has been read (``Mode/verifying(_:)`` only).
    private(set) var token: ClaimsToken?
    /// claims.jwt's bytes as read, once it has been.
    private(set) var claimsBytes: [UInt8]?

    private let tar: TarReader
    private let mode: Mode
    private var seen = Set<ArchiveEntryName>()
    private var binaries: [Target: ArchiveEntryInfo] = [:]
    private var world: ArchiveEntryInfo?
    /// The binary or world.wasm being read, and its hash so far.
    private var current: (name: ArchiveEntryName, hasher: SHA256Hasher, size: UInt64)?

    /// Opens the archive's container, plain or gzip.
    ///
    /// - Parameters:
    ///   - source: The archive's bytes, read once from start to end.
    ///   - mode: What to check.
    init(_ source: any ByteSource, mode: Mode) throws(ProviderArchiveError) {
        do {
            let peeking = PeekingSource(source)
            isCompressed = GzipReader.isGzip(try peeking.peek(2))
            // Inflating on a thread of its own, a few buffers ahead: one core inflates while
            // this one parses and hashes.
            tar = TarReader(ReadAheadSource(isCompressed ? try GzipReader(peeking) : peeking))
        } catch {
            throw .wrapping(error)
        }
        self.mode = mode
    }

    /// Moves to the next entry, after reading and checking the rest of the current one.
    /// claims.jwt is read whole and verified before it is returned.
    ///
    /// - Returns: The entry, or `nil` at the end of the archive.
    /// - Throws: ``ProviderArchiveError`` naming the first check that failed.
    func next() throws(ProviderArchiveError) -> Entry? {
        do {
            try finishCurrent()
            while let entry = try tar.nextEntry() {
                guard let name = try classify(entry) else { continue }
                guard seen.count < Self.maximumEntries else { throw ProviderArchiveError.tooManyEntries(limit: Self.maximumEntries) }
                guard seen.insert(name).inserted else { throw ProviderArchiveError.duplicateEntry(name.fileName) }
                switch name {
                case .claims:
                    try readClaims(entry)
                case .world, .binary:
                    if let metadata = token?.claims.metadata, !metadata.claims(name) {
                        throw ProviderArchiveError.unclaimedEntry(name.fileName)
                    }
                    current = (name, SHA256Hasher(), 0)
                }
                return Entry(name: name, size: entry.size)
            }
            return nil
        } catch {
            throw .wrapping(error)
        }
    }

    /// Reads the current binary's or world.wasm's content, hashing it as it goes.
    ///
    /// - Returns: The bytes read; 0 at the entry's end (and for claims.jwt, read already).
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard current != nil else { return 0 }
        let count = try tar.readContent(into: buffer)
        if count == 0 {
            try completeCurrent()
        } else {
            current?.hasher.update(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
            current?.size += UInt64(count)
        }
        return count
    }

    /// What ``finish(_:)`` requires to be present.
    enum Expectation {
        /// Every signed target (and world.wasm, when signed), and these.
        case full(requiredTargets: [Target])
        /// These targets; others the claims sign may be absent, as in a host's load of its own.
        case partial(requiredTargets: [Target])
        /// A platform slice: exactly one binary (this target's, when given), and world.wasm
        /// when signed.
        case slice(Target?)
    }

    /// Reads to the end of the archive, then checks that it has verified claims and at least
    /// one binary, and what `expectation` asks.
    ///
    /// - Parameter expectation: The targets that must be present.
    /// - Returns: What verification found.
    /// - Throws: ``ProviderArchiveError`` naming the first check that failed.
    func finish(_ expectation: Expectation) throws(ProviderArchiveError) -> VerifiedArchive {
        while try next() != nil {}
        guard let token else { throw .missingClaims }
        guard !binaries.isEmpty else { throw .noTargets }
        let metadata = token.claims.metadata
        let present = binaries.keys.sorted()
        switch expectation {
        case .full(let required):
            if let missing = metadata.targetHashes.keys.sorted().first(where: { binaries[$0] == nil }) {
                // One binary of several signed is a slice: said as such, so nobody takes it for damage.
                if present.count == 1 { throw .platformSlice(present[0], signedTargets: metadata.targetHashes.count) }
                throw .missingTarget(missing)
            }
            if metadata.worldHash != nil, world == nil { throw .missingWorld }
            if let missing = required.first(where: { binaries[$0] == nil }) { throw .targetNotFound(missing, available: present) }
        case .partial(let required):
            if let missing = required.first(where: { binaries[$0] == nil }) { throw .targetNotFound(missing, available: present) }
        case .slice(let target):
            guard present.count == 1 else { throw .notASlice(targets: present) }
            if let target, present[0] != target { throw .wrongSliceTarget(expected: target, actual: present[0]) }
            if metadata.worldHash != nil, world == nil { throw .missingWorld }
        }
        return VerifiedArchive(token: token, targets: binaries, world: world, isCompressed: isCompressed)
    }

    /// The entry's meaning; `nil` for an entry to skip (the `./` folder, and in
    /// ``Mode/unverified`` anything that is not an archive entry).
    private func classify(_ entry: TarEntry) throws(ProviderArchiveError) -> ArchiveEntryName? {
        if case .unverified = mode { return try? ArchiveEntryName(validating: entry) }
        return try ArchiveEntryName(validating: entry)
    }

    /// Reads claims.jwt whole and verifies it, then checks what was read before it.
    private func readClaims(_ entry: TarEntry) throws {
        guard entry.size <= UInt64(ClaimsToken.maximumSize) else {
            throw ClaimsError.tokenTooLarge(size: Int(clamping: entry.size), limit: ClaimsToken.maximumSize)
        }
        var bytes = [UInt8](repeating: 0, count: Int(entry.size))
        guard try bytes.withUnsafeMutableBytes({ try tar.readFully(into: $0) }) == bytes.count else {
            throw TarError.truncated
        }
        claimsBytes = bytes
        guard case .verifying(let policy) = mode else { return }
        let verified = try ClaimsToken(verifying: bytes, policy: policy)
        token = verified
        // Binaries that came first were only hashed: check them now, in name order.
        let metadata = verified.claims.metadata
        if let unclaimed = binaries.keys.sorted().first(where: { metadata.targetHashes[$0] == nil }) {
            throw ProviderArchiveError.unclaimedEntry(unclaimed.entryName)
        }
        if world != nil, metadata.worldHash == nil { throw ProviderArchiveError.unclaimedEntry(ArchiveEntryName.worldFileName) }
        for (target, info) in binaries.sorted(by: { $0.key < $1.key }) {
            try check(.binary(target), info, against: metadata)
        }
        if let world { try check(.world, world, against: metadata) }
    }

    /// Reads the rest of the current binary or world.wasm, which completes it.
    private func finishCurrent() throws {
        guard current != nil else { return }
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: streamChunkSize, alignment: 16)
        defer { chunk.deallocate() }
        while try read(into: chunk) > 0 {}
    }

    /// Records the hash of the binary or world.wasm just read to its end, and checks it when
    /// the claims are known.
    private func completeCurrent() throws {
        guard let (name, hasher, size) = current else { return }
        current = nil
        let info = ArchiveEntryInfo(size: size, hash: hasher.finalize())
        switch name {
        case .binary(let target): binaries[target] = info
        case .world: world = info
        case .claims: return
        }
        if let metadata = token?.claims.metadata { try check(name, info, against: metadata) }
    }

    private func check(_ name: ArchiveEntryName, _ info: ArchiveEntryInfo, against metadata: ProviderMetadata) throws {
        let claimed: SHA256Hash?
        switch name {
        case .binary(let target): claimed = metadata.targetHashes[target]
        case .world: claimed = metadata.worldHash
        case .claims: return
        }
        if let claimed, claimed != info.hash {
            throw ProviderArchiveError.hashMismatch(entry: name.fileName, claimed: claimed, actual: info.hash)
        }
    }
}

extension ProviderMetadata {
    /// Whether the claims hold a hash for an entry.
    fileprivate func claims(_ name: ArchiveEntryName) -> Bool {
        switch name {
        case .claims: true
        case .world: worldHash != nil
        case .binary(let target): targetHashes[target] != nil
        }
    }
}
