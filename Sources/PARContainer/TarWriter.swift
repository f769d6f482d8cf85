import PARBytes

/// Writes a tar stream to a ``ByteSink``, one entry at a time, content streamed in chunks.
///
/// Headers are POSIX ustar with mtime 0, uid/gid 0 and no user or group names, so the same
/// entries give the same bytes. After ``finish()`` the stream ends with two zero blocks and
/// nothing more, as the Rust tar crate writes it.
public final class TarWriter {
    /// The size of a header: an entry's content starts this far after the entry.
    package static let headerSize = TarHeader.blockSize

    private let sink: any ByteSink
    private var currentName: String?
    private var declaredSize: UInt64 = 0
    private var writtenSize: UInt64 = 0
    private var finished = false

    /// Creates a writer.
    ///
    /// - Parameter sink: Where the tar stream goes.
    public init(_ sink: any ByteSink) {
        self.sink = sink
    }

    /// Writes the header of a regular file; its content follows with ``writeContent(_:)``.
    ///
    /// - Parameters:
    ///   - name: The entry's path; at most 100 bytes.
    ///   - size: The content's exact size.
    ///   - mode: The permission bits, such as `0o644`.
    /// - Throws: ``TarError`` when the name is too long or the previous entry is incomplete.
    public func beginFile(name: String, size: UInt64, mode: UInt32) throws {
        try endCurrentEntry()
        guard !finished else { throw TarError.misuse("an entry was begun after finish()") }
        let nameBytes = Array(name.utf8)
        guard !nameBytes.isEmpty, nameBytes.count <= TarHeader.name.count else { throw TarError.nameTooLong(name) }
        var header = [UInt8](repeating: 0, count: TarHeader.blockSize)
        header.replaceSubrange(0..<nameBytes.count, with: nameBytes)
        TarHeader.writeNumber(UInt64(mode), into: &header, TarHeader.mode)
        TarHeader.writeNumber(0, into: &header, TarHeader.uid)
        TarHeader.writeNumber(0, into: &header, TarHeader.gid)
        TarHeader.writeNumber(size, into: &header, TarHeader.size)
        TarHeader.writeNumber(0, into: &header, TarHeader.mtime)
        header[TarHeader.typeFlag] = UInt8(ascii: "0")
        header.replaceSubrange(TarHeader.magic, with: Array("ustar\0".utf8))
        header.replaceSubrange(TarHeader.version, with: Array("00".utf8))
        // The checksum is computed with its own field as spaces, then written as 6 digits, NUL, space.
        header.replaceSubrange(TarHeader.checksum, with: [UInt8](repeating: 0x20, count: 8))
        let sum = header.reduce(0) { $0 + UInt64($1) }
        let digits = String(sum, radix: 8)
        header.replaceSubrange(
            TarHeader.checksum,
            with: Array((String(repeating: "0", count: max(0, 6 - digits.count)) + digits).utf8) + [0, 0x20])
        try sink.write(header)
        currentName = name
        declaredSize = size
        writtenSize = 0
    }

    /// Writes content of the current entry.
    ///
    /// - Parameter bytes: The next chunk of content.
    /// - Throws: ``TarError/sizeMismatch(name:declared:written:)`` when more than the declared
    ///   size is written, or what the sink throws.
    public func writeContent(_ bytes: UnsafeRawBufferPointer) throws {
        guard let currentName else { throw TarError.misuse("content written with no entry begun") }
        guard writtenSize + UInt64(bytes.count) <= declaredSize else {
            throw TarError.sizeMismatch(name: currentName, declared: declaredSize, written: writtenSize + UInt64(bytes.count))
        }
        try sink.write(bytes)
        writtenSize += UInt64(bytes.count)
    }

    /// Writes a whole file entry from bytes in memory.
    ///
    /// - Parameters:
    ///   - name: The entry's path; at most 100 bytes.
    ///   - contents: The file's content.
    ///   - mode: The permission bits.
    public func addFile(name: String, contents: [UInt8], mode: UInt32) throws {
        try beginFile(name: name, size: UInt64(contents.count), mode: mode)
        try contents.withUnsafeBytes { try writeContent($0) }
        try endCurrentEntry()
    }

    /// Ends the archive with two zero blocks. The sink is not closed.
    ///
    /// - Throws: ``TarError/sizeMismatch(name:declared:written:)`` when the last entry is short.
    public func finish() throws {
        guard !finished else { return }
        try endCurrentEntry()
        finished = true
        try sink.write([UInt8](repeating: 0, count: 2 * TarHeader.blockSize))
    }

    private func endCurrentEntry() throws {
        guard let name = currentName else { return }
        guard writtenSize == declaredSize else {
            throw TarError.sizeMismatch(name: name, declared: declaredSize, written: writtenSize)
        }
        let padding = Int((UInt64(TarHeader.blockSize) - declaredSize % UInt64(TarHeader.blockSize)) % UInt64(TarHeader.blockSize))
        if padding > 0 { try sink.write([UInt8](repeating: 0, count: padding)) }
        currentName = nil
    }
}
