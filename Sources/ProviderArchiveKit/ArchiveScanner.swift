/// Reads a provider archive in one pass, hashing every binary as it streams by, and checks
/// everything PAR-FORMAT requires and the reference skips. Used by every load, verify and
/// extract, so they cannot disagree about what a valid archive is.
struct ArchiveScanner {
    /// Where a binary's bytes go while they are hashed.
    enum Destination {
        case discard
        case collect
        case sink(any ByteSink)
    }

    struct Entry {
        var info: ArchiveEntryInfo
        var bytes: [UInt8]?
    }

    struct Result {
        var token: ClaimsToken
        var binaries: [Target: Entry]
        var world: Entry?
        var isCompressed: Bool
    }

    var policy: VerificationPolicy
    /// Decides per entry (by name and declared size) where its bytes go; claims.jwt is always
    /// read into memory.
    var destination: (ArchiveEntryName, UInt64) throws -> Destination
    /// Targets that must be present; with `requireAllClaimed`, every target the claims name.
    var requiredTargets: [Target] = []
    var requireAllClaimed = true
    /// Told whether the archive is gzip, before the first entry is read.
    var containerOpened: ((_ isCompressed: Bool) throws -> Void)?
    /// Told the token once its signature and the policy checked out, before the next entry.
    var claimsVerified: ((ClaimsToken) throws -> Void)?

    static let chunkSize = 1 << 20
    /// The most entries an archive may have; real ones have a handful of targets.
    static let maximumEntries = 1024
    /// The most binary bytes a load keeps before claims.jwt has been verified: binaries that
    /// come first are held unverified, so an archive cannot make that grow with its size.
    static let maximumUnverifiedBytes = 64 << 20

    init(policy: VerificationPolicy, destination: @escaping (ArchiveEntryName, UInt64) throws -> Destination) {
        self.policy = policy
        self.destination = destination
    }

    func scan(_ source: any ByteSource) throws(ProviderArchiveError) -> Result {
        do {
            return try scanThrowing(source)
        } catch {
            throw .wrapping(error)
        }
    }

    /// Scans, letting the hooks' own errors through unchanged.
    func scanThrowing(_ source: any ByteSource) throws -> Result {
        let (tar, isCompressed) = try ArchiveContainer.open(source)
        try containerOpened?(isCompressed)

        var token: ClaimsToken?
        var seen = Set<ArchiveEntryName>()
        var binaries: [Target: Entry] = [:]
        var world: Entry?
        var unverifiedBudget = Self.maximumUnverifiedBytes
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.chunkSize, alignment: 16)
        defer { chunk.deallocate() }

        while let entry = try tar.nextEntry() {
            guard let name = try ArchiveEntryName(validating: entry) else { continue }
            guard seen.insert(name).inserted else { throw ProviderArchiveError.duplicateEntry(name.fileName) }
            guard seen.count <= Self.maximumEntries else { throw ProviderArchiveError.tooManyEntries(limit: Self.maximumEntries) }
            switch name {
            case .claims:
                guard entry.size <= UInt64(ClaimsToken.maximumSize) else {
                    throw ClaimsError.tokenTooLarge(size: Int(clamping: entry.size), limit: ClaimsToken.maximumSize)
                }
                let verified = try ClaimsToken(verifying: try Self.readWhole(entry, from: tar), policy: policy)
                // Fail early on what was read before the claims arrived.
                try Self.checkClaimed(binaries: binaries, world: world, metadata: verified.claims.metadata)
                token = verified
                try claimsVerified?(verified)
            case .world, .binary:
                if let metadata = token?.claims.metadata {
                    switch name {
                    case .binary(let target) where metadata.targetHashes[target] == nil:
                        throw ProviderArchiveError.unclaimedEntry(name.fileName)
                    case .world where metadata.worldHash == nil:
                        throw ProviderArchiveError.unclaimedEntry(name.fileName)
                    default: break
                    }
                }
                let place = try destination(name, entry.size)
                // Kept before the signature is known: bounded, whatever the archive says.
                let budget: Int? = token == nil ? unverifiedBudget : nil
                let scanned = try Self.stream(entry, from: tar, to: place, chunk: chunk, budget: budget)
                if token == nil, let kept = scanned.bytes { unverifiedBudget -= kept.count }
                if case .binary(let target) = name { binaries[target] = scanned } else { world = scanned }
            }
        }

        guard let token else { throw ProviderArchiveError.missingClaims }
        let metadata = token.claims.metadata
        try Self.checkClaimed(binaries: binaries, world: world, metadata: metadata)
        guard !binaries.isEmpty else { throw ProviderArchiveError.noTargets }
        for (target, entry) in binaries.sorted(by: { $0.key < $1.key }) {
            // checkClaimed made sure every binary has a claim.
            if let claimed = metadata.targetHashes[target], claimed != entry.info.hash {
                throw ProviderArchiveError.hashMismatch(entry: target.entryName, claimed: claimed, actual: entry.info.hash)
            }
        }
        switch (world, metadata.worldHash) {
        case (let world?, let claimed?) where world.info.hash != claimed:
            throw ProviderArchiveError.hashMismatch(entry: ArchiveEntryName.worldFileName, claimed: claimed, actual: world.info.hash)
        case (nil, _?) where requireAllClaimed:
            throw ProviderArchiveError.missingWorld
        default:
            break
        }
        if requireAllClaimed, let missing = metadata.targetHashes.keys.sorted().first(where: { binaries[$0] == nil }) {
            throw ProviderArchiveError.missingTarget(missing)
        }
        if let missing = requiredTargets.first(where: { binaries[$0] == nil }) {
            throw ProviderArchiveError.targetNotFound(missing, available: binaries.keys.sorted())
        }
        return Result(token: token, binaries: binaries, world: world, isCompressed: isCompressed)
    }

    /// The whole content of a small entry; the caller has checked its size.
    static func readWhole(_ entry: TarEntry, from tar: TarReader) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Int(entry.size))
        var filled = 0
        while filled < bytes.count {
            let count = try bytes.withUnsafeMutableBytes {
                try tar.readContent(into: UnsafeMutableRawBufferPointer(rebasing: $0[filled...]))
            }
            guard count > 0 else { throw TarError.truncated }
            filled += count
        }
        return bytes
    }

    private static func checkClaimed(binaries: [Target: Entry], world: Entry?, metadata: ProviderMetadata) throws {
        if let unclaimed = binaries.keys.sorted().first(where: { metadata.targetHashes[$0] == nil }) {
            throw ProviderArchiveError.unclaimedEntry(unclaimed.entryName)
        }
        if world != nil, metadata.worldHash == nil {
            throw ProviderArchiveError.unclaimedEntry(ArchiveEntryName.worldFileName)
        }
    }

    /// Streams an entry's content through its hash to its destination. With a `budget`, at
    /// most that many bytes are collected.
    private static func stream(
        _ entry: TarEntry, from tar: TarReader, to destination: Destination, chunk: UnsafeMutableRawBufferPointer,
        budget: Int?
    ) throws -> Entry {
        var hash = StreamingHash()
        var collected: [UInt8]?
        if case .collect = destination {
            // The header's size is untrusted: reserve only up to a sane amount.
            collected = []
            collected?.reserveCapacity(Int(min(entry.size, UInt64(budget ?? 64 << 20))))
        }
        var total: UInt64 = 0
        while true {
            let count = try tar.readContent(into: chunk)
            if count == 0 { break }
            let bytes = UnsafeRawBufferPointer(rebasing: chunk[..<count])
            hash.update(bytes)
            switch destination {
            case .discard: break
            case .collect:
                if let budget, (collected?.count ?? 0) + count > budget {
                    throw ProviderArchiveError.claimsTooLate(limit: Self.maximumUnverifiedBytes)
                }
                collected?.append(contentsOf: bytes)
            case .sink(let sink): try sink.write(bytes)
            }
            total += UInt64(count)
        }
        return Entry(info: ArchiveEntryInfo(size: total, hash: hash.finalize()), bytes: collected)
    }
}
