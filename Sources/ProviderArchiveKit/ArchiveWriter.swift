import PARBytes
import PARClaims
import PARContainer

/// Writes a provider archive's container, the peer of `ArchiveReader`: claims.jwt first
/// (so a reader verifies the signature before any binary arrives), then world.wasm and the
/// binaries, each streamed in with its size declared up front (PAR-FORMAT section 1).
///
/// Entries are ustar with mtime 0, mode 0644 for claims.jwt and world.wasm and 0755 for
/// binaries. Content written through ``write(_:)`` goes into the entry begun last.
final class ArchiveWriter: ByteSink {
    private let tar: TarWriter
    private let gzip: GzipWriter?

    /// Starts an archive; nothing is written until the first entry.
    init(_ sink: any ByteSink, compression: ArchiveCompression) throws {
        if case .gzip(let level) = compression {
            let gzip = try GzipWriter(sink, level: level)
            self.gzip = gzip
            tar = TarWriter(gzip)
        } else {
            gzip = nil
            tar = TarWriter(sink)
        }
    }

    /// Writes claims.jwt.
    func writeClaims(_ token: ClaimsToken) throws {
        try tar.addFile(name: ArchiveEntryName.claimsFileName, contents: Array(token.encoded.utf8), mode: 0o644)
    }

    /// Writes a whole entry from memory.
    func write(_ name: ArchiveEntryName, contents: [UInt8]) throws {
        try begin(name, size: UInt64(contents.count))
        try contents.withUnsafeBytes { try write($0) }
    }

    /// Begins an entry whose content follows through ``write(_:)``.
    func begin(_ name: ArchiveEntryName, size: UInt64) throws {
        try tar.beginFile(name: name.fileName, size: size, mode: name == .claims || name == .world ? 0o644 : 0o755)
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        try tar.writeContent(bytes)
    }

    /// Ends the archive: the tar end marker, then the gzip trailer. The sink is not closed.
    func finish() throws {
        try tar.finish()
        try gzip?.finish()
    }
}
