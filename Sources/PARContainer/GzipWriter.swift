/// Compresses what is written to it as one gzip member into a ``ByteSink``.
///
/// Call ``finish()`` once everything is written: it writes the gzip trailer. The header has
/// mtime 0 and no file name, so the same input gives the same bytes.
public final class GzipWriter: ByteSink {
    /// A compression level, 1 (fastest) to 9 (smallest).
    public struct Level: Sendable, Equatable {
        let value: Int32

        /// Creates a level.
        ///
        /// - Parameter value: 1 to 9; values outside are clamped.
        public init(_ value: Int) {
            self.value = Int32(min(max(value, 1), 9))
        }

        /// zlib's speed/size balance (6).
        public static let `default` = Level(6)
        /// The smallest output (9), as the reference writes.
        public static let best = Level(9)
        /// The fastest (1).
        public static let fastest = Level(1)
    }

    private let sink: any ByteSink
    private let deflater: ZlibStream
    private let output: UnsafeMutableRawBufferPointer
    private var finished = false

    /// Creates a writer.
    ///
    /// - Parameters:
    ///   - sink: Where the compressed stream goes.
    ///   - level: The compression level.
    /// - Throws: ``GzipError/zlibFailure(code:message:)`` when zlib cannot start.
    public init(_ sink: any ByteSink, level: Level = .default) throws(GzipError) {
        self.sink = sink
        self.deflater = try ZlibStream.gzipDeflater(level: level.value)
        self.output = .allocate(byteCount: 256 * 1024, alignment: 16)
    }

    deinit {
        output.deallocate()
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard !finished else { throw GzipError.zlibFailure(code: -2, message: "write after finish") }
        var remaining = bytes
        while !remaining.isEmpty {
            let (consumed, produced, _) = try deflater.deflate(remaining, into: output, finish: false)
            if produced > 0 { try sink.write(UnsafeRawBufferPointer(rebasing: output[..<produced])) }
            remaining = UnsafeRawBufferPointer(rebasing: remaining[consumed...])
        }
    }

    /// Flushes the compressor and writes the gzip trailer. The sink is not closed.
    public func finish() throws {
        guard !finished else { return }
        finished = true
        var done = false
        while !done {
            let result = try deflater.deflate(UnsafeRawBufferPointer(start: nil, count: 0), into: output, finish: true)
            if result.produced > 0 { try sink.write(UnsafeRawBufferPointer(rebasing: output[..<result.produced])) }
            done = result.done
        }
    }
}
