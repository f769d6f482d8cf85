/// A source that hashes and counts every byte read through it: the one way the package
/// hashes and counts a stream as it is read (verifying an archive while computing its
/// layer digest, extracting while checking the archive is what was hashed, hashing a file).
package final class DigestingSource: ByteSource {
    private let source: any ByteSource
    private var hasher = SHA256Hasher()
    /// The bytes read so far.
    package private(set) var size: UInt64 = 0

    /// Wraps a source.
    package init(_ source: any ByteSource) {
        self.source = source
    }

    package func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = try source.read(into: buffer)
        if count > 0 {
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
            size += UInt64(count)
        }
        return count
    }

    /// Reads what the consumer left unread (the zeros after a tar's end marker, say), so the
    /// digest covers the whole stream.
    ///
    /// - Returns: The stream's size and SHA-256.
    package func drain() throws -> (size: UInt64, hash: SHA256Hash) {
        try forEachChunk { _ in }
        return (size, hasher.finalize())
    }

    /// The SHA-256 of what was read so far.
    package var digest: SHA256Hash { hasher.finalize() }

    /// Reads `source` to its end.
    ///
    /// - Returns: Its size and SHA-256.
    package static func digest(of source: any ByteSource) throws -> (size: UInt64, hash: SHA256Hash) {
        try DigestingSource(source).drain()
    }
}

/// A sink that hashes and counts what is written through it: the writing side's
/// ``DigestingSource``.
package final class DigestingSink: ByteSink {
    private let sink: any ByteSink
    private var hasher = SHA256Hasher()
    /// The bytes written so far.
    package private(set) var size: UInt64 = 0

    /// Wraps a sink.
    package init(_ sink: any ByteSink) {
        self.sink = sink
    }

    package func write(_ bytes: UnsafeRawBufferPointer) throws {
        hasher.update(bytes)
        size += UInt64(bytes.count)
        try sink.write(bytes)
    }

    /// The SHA-256 of what was written so far.
    package var digest: SHA256Hash { hasher.finalize() }
}
