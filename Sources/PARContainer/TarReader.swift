import PARBytes

/// Reads a tar stream entry by entry from a ``ByteSource``, holding no more than one buffer.
///
/// Call ``nextEntry()`` to move to the next entry; it skips whatever is left of the current
/// one. Between calls, ``readContent(into:)`` reads the current entry's content in chunks
/// and returns 0 at its end.
///
/// Accepted formats: POSIX ustar (`"ustar\0"`), GNU (`"ustar  \0"`) and v7 headers; pax
/// extended headers (`x`, `g`: `path`, `linkpath` and `size` are applied) and GNU long names
/// (`L`, `K`); checksums computed signed or unsigned; base-256 sizes; an end marker of one or
/// two zero blocks followed by zero padding, or no marker at all at the end of the stream.
/// Refused: bad checksums, unknown magic, malformed numbers, truncation, and anything but
/// zeros after the end marker.
public final class TarReader: ByteSource {
    /// The largest pax extended header or GNU long name accepted: real ones are a few hundred bytes.
    public static let maximumExtendedHeaderSize = 1 << 20
    /// The largest entry size accepted (2^63 - 1, as Go's archive/tar): any size read from a
    /// header or a pax record is checked against it before it is used in arithmetic.
    public static let maximumEntrySize = UInt64(Int64.max)
    /// The most zero bytes read after the end-of-archive marker: record padding is under
    /// 1 MiB even at GNU tar's largest blocking factors.
    public static let maximumEndPadding = 4 << 20

    private let source: any ByteSource
    private let buffer: UnsafeMutableRawBufferPointer
    private var bufferStart = 0
    private var bufferEnd = 0
    /// Bytes of the stream consumed so far.
    private var offset: UInt64 = 0
    private var remainingContent: UInt64 = 0
    private var remainingPadding: UInt64 = 0
    private var atEnd = false

    /// Creates a reader.
    ///
    /// - Parameters:
    ///   - source: The tar stream (already decompressed).
    ///   - bufferSize: How many bytes to read from `source` at a time.
    public init(_ source: any ByteSource, bufferSize: Int = 256 * 1024) {
        self.source = source
        self.buffer = .allocate(byteCount: max(bufferSize, TarHeader.blockSize * 4), alignment: 16)
    }

    deinit {
        buffer.deallocate()
    }

    /// Moves to the next entry, skipping the rest of the current one.
    ///
    /// - Returns: The entry, or `nil` at the end of the archive.
    /// - Throws: ``TarError`` for a malformed stream, or what the source throws.
    public func nextEntry() throws -> TarEntry? {
        guard !atEnd else { return nil }
        // Skipped one after the other: their sum is never computed, so it cannot overflow.
        try skip(remainingContent)
        remainingContent = 0
        try skip(remainingPadding)
        remainingPadding = 0
        // Go's archive/tar `Reader.next`, step by step: read a header block, keep what an
        // extended header says for the entry after it, then merge it into that entry.
        var metadata = PendingMetadata()
        while true {
            guard let (flag, entry) = try readHeader(metadataPending: metadata.isPending) else { return nil }
            if try readMetadata(flag: flag, size: entry.size, headerOffset: entry.headerOffset, into: &metadata) { continue }
            return try handleEntry(entry, flag: flag, metadata: metadata)
        }
    }

    /// What extended headers said about the entry that follows them: pax records (`x`) and
    /// GNU long names (`L`, `K`).
    private struct PendingMetadata {
        var longName: String?
        var longLinkName: String?
        var pax: [String: String] = [:]
        /// An extended header was read, so an entry must follow it.
        var isPending = false
        /// Extended headers before one entry add up to at most this, so a stream of them
        /// cannot grow memory.
        var budget = UInt64(TarReader.maximumExtendedHeaderSize)
    }

    /// Reads the next header block (Go's `readHeader`): its type flag and the entry it
    /// describes, or `nil` at the end of the archive (an end marker, or the stream's end).
    ///
    /// - Parameter metadataPending: An extended header was read, so the archive may not end here.
    private func readHeader(metadataPending: Bool) throws -> (flag: UInt8, entry: TarEntry)? {
        let headerOffset = offset
        guard let header = try readBlock() else {
            if metadataPending { throw TarError.truncated }
            atEnd = true
            return nil
        }
        guard let entry = try header.withUnsafeBytes({ try Self.parseHeader($0, headerOffset: headerOffset) }) else {
            try readEndOfArchive()
            if metadataPending { throw TarError.truncated }
            return nil
        }
        return (header[TarHeader.typeFlag], entry)
    }

    /// The entry a header block describes, or `nil` for a zero block (the end marker).
    private static func parseHeader(_ header: UnsafeRawBufferPointer, headerOffset: UInt64) throws -> TarEntry? {
        if header.allSatisfy({ $0 == 0 }) { return nil }
        guard TarHeader.hasValidChecksum(header) else { throw TarError.badChecksum(headerOffset: headerOffset) }
        guard let format = TarHeader.format(of: header) else {
            throw TarError.unknownFormat(headerOffset: headerOffset)
        }
        guard let size = TarHeader.number(header, TarHeader.size), size <= Self.maximumEntrySize else {
            throw TarError.invalidNumber(field: "size", headerOffset: headerOffset)
        }
        guard let mode = TarHeader.number(header, TarHeader.mode) else {
            throw TarError.invalidNumber(field: "mode", headerOffset: headerOffset)
        }
        var rawName = TarHeader.string(header, TarHeader.name)
        if format == .ustar {
            let prefix = TarHeader.string(header, TarHeader.prefix)
            if !prefix.isEmpty { rawName = prefix + [UInt8(ascii: "/")] + rawName }
        }
        guard let name = String(validating: rawName, as: UTF8.self) else {
            throw TarError.invalidName(headerOffset: headerOffset)
        }
        let linkName = String(decoding: TarHeader.string(header, TarHeader.linkName), as: UTF8.self)
        return TarEntry(
            name: name, kind: Self.kind(flag: header[TarHeader.typeFlag], name: name),
            size: size, mode: UInt32(truncatingIfNeeded: mode & 0o7777), linkName: linkName,
            headerOffset: headerOffset)
    }

    /// Reads an extended header (pax `x` or `g`, GNU `L` or `K`) into `metadata` (Go's
    /// `mergePAX` and long-name handling).
    ///
    /// - Returns: Whether the header was one; `false` for an entry of its own.
    private func readMetadata(
        flag: UInt8, size: UInt64, headerOffset: UInt64, into metadata: inout PendingMetadata
    ) throws -> Bool {
        if [UInt8(ascii: "x"), UInt8(ascii: "L"), UInt8(ascii: "K")].contains(flag) {
            guard size <= metadata.budget else {
                throw TarError.invalidExtendedHeader(
                    "extended headers of more than \(Self.maximumExtendedHeaderSize) bytes for one entry",
                    headerOffset: headerOffset)
            }
            metadata.budget -= size
        }
        switch flag {
        case UInt8(ascii: "x"):
            let records = try readExtendedHeader(size: size, headerOffset: headerOffset)
            metadata.pax.merge(try Self.parsePax(records, headerOffset: headerOffset)) { $1 }
            metadata.isPending = true
        case UInt8(ascii: "g"):
            _ = try Self.parsePax(try readExtendedHeader(size: size, headerOffset: headerOffset), headerOffset: headerOffset)
        case UInt8(ascii: "L"), UInt8(ascii: "K"):
            let content = try readExtendedHeader(size: size, headerOffset: headerOffset)
            guard let text = String(validating: content.prefix(while: { $0 != 0 }), as: UTF8.self), !text.isEmpty else {
                throw TarError.invalidExtendedHeader("a GNU long name that is empty or not UTF-8", headerOffset: headerOffset)
            }
            if flag == UInt8(ascii: "L") { metadata.longName = text } else { metadata.longLinkName = text }
            metadata.isPending = true
        default:
            return false
        }
        return true
    }

    /// The entry with what its extended headers said applied, its content made current
    /// (Go's `handleRegularFile`): only regular files, and the types tar treats alike, have any.
    private func handleEntry(_ entry: TarEntry, flag: UInt8, metadata: PendingMetadata) throws -> TarEntry {
        var size = entry.size
        if let paxSize = metadata.pax["size"] {
            guard paxSize.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let value = UInt64(paxSize),
                value <= Self.maximumEntrySize
            else {
                throw TarError.invalidExtendedHeader("the size is not a number up to 2^63-1", headerOffset: entry.headerOffset)
            }
            size = value
        }
        let name = metadata.pax["path"] ?? metadata.longName ?? entry.name
        guard !name.isEmpty else { throw TarError.invalidName(headerOffset: entry.headerOffset) }
        let merged = TarEntry(
            name: name, kind: Self.kind(flag: flag, name: name), size: size,
            mode: entry.mode, linkName: metadata.pax["linkpath"] ?? metadata.longLinkName ?? entry.linkName,
            headerOffset: entry.headerOffset)
        let hasContent = merged.kind == .regularFile || { if case .other = merged.kind { true } else { false } }()
        remainingContent = hasContent ? size : 0
        remainingPadding = hasContent ? Self.padding(for: size) : 0
        return merged
    }

    /// Reads the current entry's content.
    ///
    /// - Parameter destination: Where to put the bytes.
    /// - Returns: The number of bytes read; 0 at the end of the entry.
    /// - Throws: ``TarError/truncated`` when the stream ends early, or what the source throws.
    public func readContent(into destination: UnsafeMutableRawBufferPointer) throws -> Int {
        let wanted = Int(min(UInt64(destination.count), remainingContent))
        guard wanted > 0 else { return 0 }
        let count: Int
        if bufferEnd > bufferStart {
            count = min(wanted, bufferEnd - bufferStart)
            destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[bufferStart..<bufferStart + count]))
            bufferStart += count
        } else {
            // Large reads go straight from the source into the caller's memory: no extra copy.
            count = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: destination[..<wanted]))
            guard count > 0 else { throw TarError.truncated }
        }
        remainingContent -= UInt64(count)
        offset += UInt64(count)
        return count
    }

    /// The current entry's content as a byte stream: ``readContent(into:)``, so the stream
    /// helpers (`readFully(into:)`, ...) read one entry.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try readContent(into: buffer)
    }

    // MARK: - Stream helpers

    private static func padding(for size: UInt64) -> UInt64 {
        (UInt64(TarHeader.blockSize) - size % UInt64(TarHeader.blockSize)) % UInt64(TarHeader.blockSize)
    }

    private static func kind(flag: UInt8, name: String) -> TarEntry.Kind {
        switch flag {
        case 0, UInt8(ascii: "0"), UInt8(ascii: "7"): name.hasSuffix("/") ? .directory : .regularFile
        case UInt8(ascii: "1"): .hardLink
        case UInt8(ascii: "2"): .symbolicLink
        case UInt8(ascii: "3"): .characterDevice
        case UInt8(ascii: "4"): .blockDevice
        case UInt8(ascii: "5"): .directory
        case UInt8(ascii: "6"): .fifo
        default: .other(flag)
        }
    }

    /// Makes sure at least `count` bytes are buffered; returns false at the end of the stream.
    private func fill(_ count: Int) throws -> Bool {
        if bufferEnd - bufferStart >= count { return true }
        if bufferStart > 0 {
            let pending = bufferEnd - bufferStart
            if pending > 0 {
                UnsafeMutableRawBufferPointer(rebasing: buffer[0..<pending])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[bufferStart..<bufferEnd]))
            }
            bufferStart = 0
            bufferEnd = pending
        }
        while bufferEnd < count {
            let read = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[bufferEnd...]))
            if read == 0 { return false }
            bufferEnd += read
        }
        return true
    }

    /// The next 512-byte block, `nil` at a clean end of stream.
    private func readBlock() throws -> [UInt8]? {
        guard try fill(TarHeader.blockSize) else {
            if bufferEnd > bufferStart { throw TarError.truncated }
            return nil
        }
        let block = Array(UnsafeRawBufferPointer(rebasing: buffer[bufferStart..<bufferStart + TarHeader.blockSize]))
        bufferStart += TarHeader.blockSize
        offset += UInt64(TarHeader.blockSize)
        return block
    }

    private func skip(_ count: UInt64) throws {
        var remaining = count
        while remaining > 0 {
            if bufferEnd == bufferStart {
                guard try fill(1) else { throw TarError.truncated }
            }
            let step = Int(min(remaining, UInt64(bufferEnd - bufferStart)))
            bufferStart += step
            remaining -= UInt64(step)
            offset += UInt64(step)
        }
    }

    private func readExtendedHeader(size: UInt64, headerOffset: UInt64) throws -> [UInt8] {
        guard size <= UInt64(Self.maximumExtendedHeaderSize) else {
            throw TarError.invalidExtendedHeader("\(size) bytes, more than the \(Self.maximumExtendedHeaderSize) allowed", headerOffset: headerOffset)
        }
        var content = [UInt8](repeating: 0, count: Int(size))
        var filled = 0
        remainingContent = size
        while filled < content.count {
            let count = try content.withUnsafeMutableBytes { try readContent(into: UnsafeMutableRawBufferPointer(rebasing: $0[filled...])) }
            filled += count
        }
        try skip(Self.padding(for: size))
        return content
    }

    /// After the first zero block only zeros may follow: the second marker block and record
    /// padding, up to ``maximumEndPadding`` bytes, so a stream of zeros that never ends (such
    /// as `/dev/zero`) is refused instead of read forever. A missing second block is
    /// accepted, as GNU tar and Python's tarfile accept it.
    private func readEndOfArchive() throws {
        atEnd = true
        let start = offset
        while true {
            guard offset - start <= UInt64(Self.maximumEndPadding) else {
                throw TarError.paddingTooLong(limit: Self.maximumEndPadding)
            }
            if bufferEnd == bufferStart {
                guard try fill(1) else { return }
            }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[bufferStart..<bufferEnd])
            if let nonZero = chunk.firstIndex(where: { $0 != 0 }) {
                throw TarError.trailingData(offset: offset + UInt64(nonZero))
            }
            offset += UInt64(chunk.count)
            bufferStart = bufferEnd
        }
    }

    /// Parses pax records, `"%d %s=%s\n"` each, the length counting the whole record.
    static func parsePax(_ records: [UInt8], headerOffset: UInt64) throws -> [String: String] {
        var result: [String: String] = [:]
        var index = 0
        while index < records.count {
            // The length is checked against what is left before any sum is formed with it.
            guard let space = records[index...].firstIndex(of: UInt8(ascii: " ")),
                space > index, records[index..<space].allSatisfy({ (0x30...0x39).contains($0) }),
                let length = Int(String(decoding: records[index..<space], as: UTF8.self)),
                length > space - index + 1, length <= records.count - index,
                records[index + length - 1] == UInt8(ascii: "\n")
            else { throw TarError.invalidExtendedHeader("a malformed pax record", headerOffset: headerOffset) }
            let record = records[(space + 1)..<(index + length - 1)]
            guard let equals = record.firstIndex(of: UInt8(ascii: "=")),
                let key = String(validating: record[..<equals], as: UTF8.self),
                let value = String(validating: record[(equals + 1)...], as: UTF8.self)
            else { throw TarError.invalidExtendedHeader("a pax record that is not KEY=VALUE in UTF-8", headerOffset: headerOffset) }
            result[key] = value
            index += length
        }
        return result
    }
}
