/// A stream of bytes to read from: a file, a decompressor, a network body, memory.
///
/// Readers in this package pull from a source in large chunks and never ask for the whole
/// stream at once, so memory stays bounded by their buffers.
public protocol ByteSource: AnyObject {
    /// Reads up to `buffer.count` bytes into `buffer`.
    ///
    /// - Parameter buffer: Where to put the bytes.
    /// - Returns: The number of bytes read; 0 only at the end of the stream.
    /// - Throws: Whatever the underlying stream fails with.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// A stream of bytes to write to: a file, a compressor, memory.
public protocol ByteSink: AnyObject {
    /// Writes all of `bytes`, or throws.
    ///
    /// - Parameter bytes: The bytes to write.
    /// - Throws: Whatever the underlying stream fails with.
    func write(_ bytes: UnsafeRawBufferPointer) throws
}

extension ByteSink {
    /// Writes all of `bytes`, or throws.
    ///
    /// - Parameter bytes: The bytes to write.
    /// - Throws: Whatever the underlying stream fails with.
    public func write(_ bytes: some Sequence<UInt8>) throws {
        let array = Array(bytes)
        try array.withUnsafeBytes { try write($0) }
    }
}

/// The chunk size of the package's streaming loops: large enough for full-speed reads and
/// hashing, small enough that memory does not depend on what is streamed.
package let streamChunkSize = 1 << 20

extension ByteSource {
    /// Reads until `buffer` is full or the stream ends.
    ///
    /// - Parameter buffer: Where to put the bytes.
    /// - Returns: The number of bytes read; less than `buffer.count` only at the end.
    /// - Throws: Whatever the underlying stream fails with.
    public func readFully(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var filled = 0
        while filled < buffer.count {
            let count = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
            if count == 0 { break }
            filled += count
        }
        return filled
    }

    /// Reads the rest of the stream, refusing to hold more than `limit` bytes: the limit is
    /// checked as the bytes arrive, so an endless stream ends the read, not the memory.
    ///
    /// - Parameter limit: The most bytes to accept.
    /// - Returns: The bytes, or `nil` as soon as the stream proves longer than `limit`.
    /// - Throws: Whatever the underlying stream fails with.
    public func readAll(limit: Int) throws -> [UInt8]? {
        var result = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = try chunk.withUnsafeMutableBytes { try read(into: $0) }
            if count == 0 { return result }
            guard result.count + count <= limit else { return nil }
            result += chunk[..<count]
        }
    }

    /// Streams the rest of the source through `body`, a chunk at a time.
    ///
    /// - Parameter body: Given each chunk; valid only during the call.
    /// - Throws: What the source or `body` throws.
    package func forEachChunk(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: streamChunkSize, alignment: 16)
        defer { chunk.deallocate() }
        while true {
            let count = try read(into: chunk)
            if count == 0 { return }
            try body(UnsafeRawBufferPointer(rebasing: chunk[..<count]))
        }
    }
}
