import PARBytes

/// Decompresses a gzip stream from a ``ByteSource`` as you read it.
///
/// Concatenated members (as `cat a.gz b.gz` or pigz write them) read as one stream. Each
/// member's CRC-32 and length are checked by the inflater, ISA-L's or zlib's (see
/// ``InflateBackend``). Anything after the last member other than
/// another member is refused.
public final class GzipReader: ByteSource {
    private let source: any ByteSource
    private let inflater: any Inflater
    /// The library inflating this stream.
    public let backend: InflateBackend
    private let input: UnsafeMutableRawBufferPointer
    private var inputStart = 0
    private var inputEnd = 0
    private var sourceEnded = false
    private var finished = false

    /// Creates a reader.
    ///
    /// - Parameters:
    ///   - source: The compressed stream.
    ///   - bufferSize: How many compressed bytes to read at a time.
    ///   - backend: The library that inflates: ``InflateBackend/current`` unless told.
    /// - Throws: ``GzipError/zlibFailure(code:message:)`` when the inflater cannot start.
    public init(_ source: any ByteSource, bufferSize: Int = 256 * 1024, backend: InflateBackend = .current) throws(GzipError) {
        self.source = source
        self.backend = backend
        switch backend {
        case .isal: self.inflater = try IsalInflater()
        case .zlib: self.inflater = try ZlibStream.gzipInflater()
        }
        self.input = .allocate(byteCount: max(bufferSize, 1024), alignment: 16)
    }

    deinit {
        input.deallocate()
    }

    /// Tells whether `bytes` start like a gzip stream (`1f 8b`).
    public static func isGzip(_ bytes: some Collection<UInt8>) -> Bool {
        bytes.starts(with: [0x1F, 0x8B])
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard buffer.count > 0 else { return 0 }
        while !finished {
            if inputStart == inputEnd, !sourceEnded {
                inputStart = 0
                inputEnd = try source.read(into: input)
                if inputEnd == 0 { sourceEnded = true }
            }
            if inflater.memberEnded {
                // Another member, the end, or junk.
                if inputStart == inputEnd {
                    if sourceEnded { finished = true; return 0 }
                    continue
                }
                guard input[inputStart] == 0x1F else { throw GzipError.trailingData }
                try inflater.resetForNextMember()
            }
            if inputStart == inputEnd, sourceEnded { throw GzipError.truncated }
            let (consumed, produced) = try inflater.inflate(
                UnsafeRawBufferPointer(rebasing: input[inputStart..<inputEnd]), into: buffer)
            inputStart += consumed
            if produced > 0 { return produced }
            if consumed == 0, !inflater.memberEnded, inputStart == inputEnd, sourceEnded {
                throw GzipError.truncated
            }
        }
        return 0
    }
}
