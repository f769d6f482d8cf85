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
    public func write(_ bytes: some Sequence<UInt8>) throws {
        let array = Array(bytes)
        try array.withUnsafeBytes { try write($0) }
    }
}

extension ByteSource {
    /// Reads until `buffer` is full or the stream ends.
    ///
    /// - Returns: The number of bytes read; less than `buffer.count` only at the end.
    public func readFully(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var filled = 0
        while filled < buffer.count {
            let count = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
            if count == 0 { break }
            filled += count
        }
        return filled
    }

    /// Reads the rest of the stream, refusing to hold more than `limit` bytes.
    ///
    /// - Parameter limit: The most bytes to accept.
    /// - Returns: The bytes, or `nil` when the stream is longer than `limit`.
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
}

/// A source over bytes in memory.
public final class MemorySource: ByteSource {
    private let bytes: [UInt8]
    private var position = 0

    /// Creates a source that yields `bytes`.
    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = min(buffer.count, bytes.count - position)
        guard count > 0 else { return 0 }
        bytes.withUnsafeBytes { source in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[position..<position + count]))
        }
        position += count
        return count
    }
}

/// A sink that collects bytes in memory.
public final class MemorySink: ByteSink {
    /// Everything written so far.
    public private(set) var bytes: [UInt8] = []

    /// Creates an empty sink.
    public init() {}

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        self.bytes.append(contentsOf: bytes)
    }
}

/// A sink that drops what it is given: for reading a stream only to hash or check it.
public final class DiscardingSink: ByteSink {
    /// Creates a sink.
    public init() {}
    public func write(_ bytes: UnsafeRawBufferPointer) throws {}
}
