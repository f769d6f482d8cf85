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
        var size: UInt64
        var hash: SHA256Hash
        var bytes: [UInt8]?
    }

    struct Result {
        var token: ClaimsToken
        var binaries: [Target: Entry]
        var world: Entry?
        var isCompressed: Bool
    }

    var policy: VerificationPolicy
    /// Decides per entry where its bytes go; claims.jwt is always read into memory.
    var destination: (ArchiveEntryName) -> Destination
    /// Targets that must be present; with `requireAllClaimed`, every target the claims name.
    var requiredTargets: [Target] = []
    var requireAllClaimed = true

    static let chunkSize = 1 << 20

    func scan(_ source: any ByteSource) throws(ProviderArchiveError) -> Result {
        do {
            return try scanThrowing(source)
        } catch {
            throw .wrapping(error)
        }
    }

    private func scanThrowing(_ source: any ByteSource) throws -> Result {
        let peeking = PeekingSource(source)
        let isCompressed = GzipReader.isGzip(try peeking.peek(2))
        let tar = TarReader(isCompressed ? try GzipReader(peeking) : peeking)

        var token: ClaimsToken?
        var seen = Set<ArchiveEntryName>()
        var binaries: [Target: Entry] = [:]
        var world: Entry?
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.chunkSize, alignment: 16)
        defer { chunk.deallocate() }

        while let entry = try tar.nextEntry() {
            guard let name = try ArchiveEntryName(validating: entry) else { continue }
            guard seen.insert(name).inserted else { throw ProviderArchiveError.duplicateEntry(name.fileName) }
            switch name {
            case .claims:
                guard entry.size <= UInt64(ClaimsToken.maximumSize) else {
                    throw ClaimsError.tokenTooLarge(size: Int(clamping: entry.size), limit: ClaimsToken.maximumSize)
                }
                let verified = try ClaimsToken(verifying: try Self.readWhole(entry, from: tar), policy: policy)
                // Fail early on what was read before the claims arrived.
                try Self.checkClaimed(binaries: binaries, world: world, metadata: verified.claims.metadata)
                token = verified
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
                let scanned = try Self.stream(entry, from: tar, to: destination(name), chunk: chunk)
                if case .binary(let target) = name { binaries[target] = scanned } else { world = scanned }
            }
        }

        guard let token else { throw ProviderArchiveError.missingClaims }
        let metadata = token.claims.metadata
        try Self.checkClaimed(binaries: binaries, world: world, metadata: metadata)
        guard !binaries.isEmpty else { throw ProviderArchiveError.noTargets }
        for (target, entry) in binaries.sorted(by: { $0.key < $1.key }) {
            // checkClaimed made sure every binary has a claim.
            if let claimed = metadata.targetHashes[target], claimed != entry.hash {
                throw ProviderArchiveError.hashMismatch(entry: target.entryName, claimed: claimed, actual: entry.hash)
            }
        }
        switch (world, metadata.worldHash) {
        case (let world?, let claimed?) where world.hash != claimed:
            throw ProviderArchiveError.hashMismatch(entry: ArchiveEntryName.worldFileName, claimed: claimed, actual: world.hash)
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

    private static func stream(
        _ entry: TarEntry, from tar: TarReader, to destination: Destination, chunk: UnsafeMutableRawBufferPointer
    ) throws -> Entry {
        var hash = StreamingHash()
        var collected: [UInt8]?
        if case .collect = destination {
            // The header's size is untrusted: reserve only up to a sane amount.
            collected = []
            collected?.reserveCapacity(Int(min(entry.size, 64 << 20)))
        }
        var total: UInt64 = 0
        while true {
            let count = try tar.readContent(into: chunk)
            if count == 0 { break }
            let bytes = UnsafeRawBufferPointer(rebasing: chunk[..<count])
            hash.update(bytes)
            switch destination {
            case .discard: break
            case .collect: collected?.append(contentsOf: bytes)
            case .sink(let sink): try sink.write(bytes)
            }
            total += UInt64(count)
        }
        return Entry(size: total, hash: hash.finalize(), bytes: collected)
    }
}

/// A source that can look at its first bytes before they are read (to sniff gzip).
final class PeekingSource: ByteSource {
    private let source: any ByteSource
    private var peeked: [UInt8] = []
    private var peekedPosition = 0

    init(_ source: any ByteSource) {
        self.source = source
    }

    /// Up to `count` first bytes, fewer only when the stream is shorter.
    func peek(_ count: Int) throws -> [UInt8] {
        while peeked.count < count {
            var buffer = [UInt8](repeating: 0, count: count - peeked.count)
            let read = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
            if read == 0 { break }
            peeked += buffer[..<read]
        }
        return Array(peeked.prefix(count))
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if peekedPosition < peeked.count {
            let count = min(buffer.count, peeked.count - peekedPosition)
            peeked.withUnsafeBytes {
                buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[peekedPosition..<peekedPosition + count]))
            }
            peekedPosition += count
            return count
        }
        return try source.read(into: buffer)
    }
}
