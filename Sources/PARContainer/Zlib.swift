internal import CPARZlib

/// The one place zlib is called. Each stream owns its `z_stream` and ends it on deinit.
final class ZlibStream {
    enum Direction { case inflate, deflate }

    private let stream: UnsafeMutablePointer<z_stream>
    private let direction: Direction

    /// Whether the current member has ended (inflate only).
    private(set) var memberEnded = false

    /// Starts an inflater that reads gzip (zlib's window bits 15 + 16).
    static func gzipInflater() throws(GzipError) -> ZlibStream {
        let stream = ZlibStream(direction: .inflate)
        let status = CPARZlib_inflateInit2(stream.stream, 15 + 16)
        guard status == Z_OK else { throw stream.failure(status) }
        stream.initialized = true
        return stream
    }

    /// Starts a deflater that writes gzip at `level` (1 fastest to 9 smallest).
    static func gzipDeflater(level: Int32) throws(GzipError) -> ZlibStream {
        let stream = ZlibStream(direction: .deflate)
        let status = CPARZlib_deflateInit2(stream.stream, level, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY)
        guard status == Z_OK else { throw stream.failure(status) }
        stream.initialized = true
        return stream
    }

    private var initialized = false

    private init(direction: Direction) {
        self.direction = direction
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
    }

    deinit {
        if initialized {
            switch direction {
            case .inflate: inflateEnd(stream)
            case .deflate: deflateEnd(stream)
            }
        }
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Input not yet consumed by zlib.
    var pendingInputCount: Int { Int(stream.pointee.avail_in) }

    /// Inflates from `input` into `output`.
    ///
    /// - Returns: Bytes consumed from `input` and bytes produced into `output`.
    func inflate(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(GzipError) -> (consumed: Int, produced: Int) {
        try run(input, output) { CPARZlib.inflate($0, Z_NO_FLUSH) }
    }

    /// Deflates from `input` into `output`; `finish` ends the member.
    ///
    /// - Returns: Bytes consumed, bytes produced, and whether the stream is complete.
    func deflate(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, finish: Bool) throws(GzipError) -> (consumed: Int, produced: Int, done: Bool) {
        var done = false
        let (consumed, produced) = try run(input, output) { stream in
            let status = CPARZlib.deflate(stream, finish ? Z_FINISH : Z_NO_FLUSH)
            if status == Z_STREAM_END { done = true }
            return status == Z_STREAM_END ? Z_OK : status
        }
        return (consumed, produced, done)
    }

    /// Starts a new gzip member after one has ended (concatenated gzip files are one stream).
    func resetForNextMember() throws(GzipError) {
        let status = inflateReset(stream)
        guard status == Z_OK else { throw failure(status) }
        memberEnded = false
    }

    private func run(
        _ input: UnsafeRawBufferPointer, _ output: UnsafeMutableRawBufferPointer,
        _ step: (UnsafeMutablePointer<z_stream>) -> Int32
    ) throws(GzipError) -> (consumed: Int, produced: Int) {
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = UInt32(input.count)
        stream.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = UInt32(output.count)
        let status = step(stream)
        let consumed = input.count - Int(stream.pointee.avail_in)
        let produced = output.count - Int(stream.pointee.avail_out)
        stream.pointee.next_in = nil
        stream.pointee.avail_in = 0
        stream.pointee.next_out = nil
        stream.pointee.avail_out = 0
        switch status {
        case Z_OK:
            return (consumed, produced)
        case Z_STREAM_END:
            memberEnded = true
            return (consumed, produced)
        case Z_BUF_ERROR:
            // No progress was possible with this input and output; the caller brings more.
            return (consumed, produced)
        default:
            throw failure(status)
        }
    }

    private func failure(_ status: Int32) -> GzipError {
        let message = stream.pointee.msg.map { String(cString: $0) } ?? "status \(status)"
        switch status {
        case Z_DATA_ERROR: return .corrupt(message)
        case Z_NEED_DICT: return .corrupt("a preset dictionary is required")
        default: return .zlibFailure(code: status, message: message)
        }
    }
}
