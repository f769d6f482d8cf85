import PARBytes

/// Decompresses a gzip stream from a ``ByteSource`` as you read it.
///
/// Concatenated members (as `cat a.gz b.gz` or pigz write them) read as one stream. Each
/// member's header (FEXTRA, FNAME, FCOMMENT, FHCRC checked when present; reserved flags
/// refused), CRC-32 and length are checked here, the same way whichever library inflates
/// the deflate data, ISA-L's or zlib's (see ``InflateBackend``). Whatever zlib accepts, ISA-L
/// accepts with the same bytes; ISA-L also reads a block whose Huffman code is incomplete,
/// which zlib refuses, but only bytes matching the trailer's CRC-32 and length get through.
/// Anything after the last member other than another member is refused.
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
    /// Where in a member the stream is: the header and trailer are read here, the same way
    /// for both backends; the inflater sees only the deflate data between them.
    private enum Phase { case header, body, trailer, between }
    private var phase = Phase.header
    private var header = GzipMemberHeader()
    private var trailer = GzipMemberTrailer()
    /// The bytes the current member produced, for its ISIZE.
    private var memberLength: UInt64 = 0
    /// Bytes the inflater read past the deflate data and gave back, read before `input`.
    private var heldBack: [UInt8] = []

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
        case .zlib: self.inflater = try ZlibStream.rawInflater()
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
            if !heldBack.isEmpty {
                // At most the eight bytes of the trailer: never deflate data.
                guard phase != .body else { throw GzipError.zlibFailure(code: -1, message: "the inflater held back deflate data") }
                let taken = try heldBack.withUnsafeBytes { held throws -> Int in try frame(held) ?? 0 }
                heldBack.removeFirst(taken)
                continue
            }
            let available = UnsafeRawBufferPointer(rebasing: input[inputStart..<inputEnd])
            if phase == .body {
                let (consumed, produced) = try inflater.inflate(available, into: buffer)
                guard consumed <= available.count, produced <= buffer.count else {
                    throw GzipError.zlibFailure(code: -1, message: "the inflater reported more than it was given")
                }
                inputStart += consumed
                memberLength &+= UInt64(produced)
                if inflater.memberEnded {
                    phase = .trailer
                    heldBack = inflater.takeHeldInput()
                }
                if produced > 0 { return produced }
                if consumed == 0, !inflater.memberEnded {
                    if inputStart == inputEnd, sourceEnded { throw GzipError.truncated }
                    // Either library takes every byte it is given into its own buffers; one
                    // that takes none and gives nothing would loop forever.
                    if inputStart < inputEnd { throw GzipError.zlibFailure(code: -1, message: "the inflater made no progress") }
                }
                continue
            }
            guard let taken = try frame(available) else { return 0 }
            inputStart += taken
        }
        return 0
    }

    /// Reads framing (a header, a trailer, what is between members) from the start of
    /// `bytes`, which are empty only when the source has nothing more to give now.
    ///
    /// - Returns: How many bytes it used; `nil` at the clean end of the stream.
    private func frame(_ bytes: UnsafeRawBufferPointer) throws -> Int? {
        switch phase {
        case .between:
            // Another member, the end, or junk.
            if bytes.isEmpty {
                if sourceEnded {
                    finished = true
                    return nil
                }
                return 0
            }
            guard bytes[0] == 0x1F else { throw GzipError.trailingData }
            phase = .header
            return 0
        case .header:
            if bytes.isEmpty, sourceEnded { throw GzipError.truncated }
            let taken = try header.consume(bytes)
            if header.isComplete { phase = .body }
            return taken
        case .trailer:
            if bytes.isEmpty, sourceEnded { throw GzipError.truncated }
            let taken = trailer.consume(bytes)
            if trailer.isComplete {
                try trailer.check(crc: inflater.crc, length: memberLength)
                try inflater.resetForNextMember()
                (header, trailer, memberLength, phase) = (GzipMemberHeader(), GzipMemberTrailer(), 0, .between)
            }
            return taken
        case .body:
            return 0
        }
    }
}
