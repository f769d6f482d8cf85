internal import CPARZlib

/// The one place zlib is called. Each stream owns its `z_stream` and ends it on deinit.
///
/// Reading goes through `ZlibStream` (a streaming gzip inflater); writing through
/// `BlockDeflater` (raw deflate of blocks that `GzipWriter` frames and runs in parallel).
final class ZlibStream {
    private let stream: UnsafeMutablePointer<z_stream>

    /// Whether the current member has ended (inflate only).
    private(set) var memberEnded = false

    /// The CRC-32 of what the current member produced (inflate only).
    private(set) var crc: UInt32 = 0

    /// Starts an inflater of raw deflate (a gzip member's body; the caller reads the header
    /// and trailer), keeping the CRC-32 of what it produces.
    static func rawInflater() throws(GzipError) -> ZlibStream {
        let stream = ZlibStream()
        let status = CPARZlib_inflateInit2(stream.stream, -15)
        guard status == Z_OK else { throw stream.failure(status) }
        stream.initialized = true
        return stream
    }

    private var initialized = false

    private init() {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
    }

    deinit {
        if initialized { inflateEnd(stream) }
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Input not yet consumed by zlib.
    var pendingInputCount: Int { Int(stream.pointee.avail_in) }

    /// Inflates from `input` into `output`.
    ///
    /// - Returns: Bytes consumed from `input` and bytes produced into `output`.
    func inflate(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(GzipError) -> (consumed: Int, produced: Int) {
        let result = try run(input, output) { CPARZlib.inflate($0, Z_NO_FLUSH) }
        crc = CRC32.update(crc, UnsafeRawBufferPointer(rebasing: output[..<result.produced]))
        return result
    }

    /// Starts a new gzip member after one has ended (concatenated gzip files are one stream).
    func resetForNextMember() throws(GzipError) {
        let status = inflateReset(stream)
        guard status == Z_OK else { throw failure(status) }
        memberEnded = false
        crc = 0
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
        // The same words as ISA-L's errors: which library found the damage is no matter.
        case Z_DATA_ERROR: return .corrupt(GzipError.invalidDeflate)
        case Z_NEED_DICT: return .corrupt("a preset dictionary is required")
        default: return .zlibFailure(code: status, message: message)
        }
    }
}

/// Raw deflate of one block at a time, for gzip written in parallel blocks (as pigz does):
/// each block is primed with the 32 KiB before it, so the output is nearly as small as one
/// serial stream, and ends on a byte boundary so blocks concatenate into one deflate stream.
final class BlockDeflater {
    private let stream: UnsafeMutablePointer<z_stream>

    /// The 32 KiB window deflate can refer back to.
    static let windowSize = 32 * 1024

    /// - Parameters:
    ///   - level: zlib's level, 1 to 9.
    ///   - memoryLevel: zlib's memLevel, 1 to 9; tests pass an invalid one to make the start fail.
    init(level: Int32, memoryLevel: Int32 = 9) throws(GzipError) {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // Negative window bits: raw deflate, no header or trailer; we write the gzip framing.
        let status = CPARZlib_deflateInit2(stream, level, Z_DEFLATED, -15, memoryLevel, Z_DEFAULT_STRATEGY)
        guard status == Z_OK else {
            // Freed here, and only here: self.stream is never set, so deinit does not run.
            stream.deinitialize(count: 1)
            stream.deallocate()
            throw .zlibFailure(code: status, message: "deflateInit2 failed")
        }
        self.stream = stream
    }

    deinit {
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// The most bytes ``compress(_:dictionary:final:into:)`` can produce for `count` input bytes.
    static func outputCapacity(forInput count: Int) -> Int {
        // deflateBound covers Z_FINISH; a sync flush adds an empty stored block (5 bytes) and
        // the flush itself up to a few more.
        count + count / 1000 + 1024
    }

    /// Compresses one block into `output`, which must hold ``outputCapacity(forInput:)`` bytes.
    ///
    /// - Returns: The number of bytes written to `output`.
    func compress(
        _ input: UnsafeRawBufferPointer, dictionary: UnsafeRawBufferPointer, final: Bool,
        into output: UnsafeMutableRawBufferPointer
    ) throws(GzipError) -> Int {
        var status = deflateReset(stream)
        guard status == Z_OK else { throw .zlibFailure(code: status, message: "deflateReset failed") }
        if let base = dictionary.baseAddress, dictionary.count > 0 {
            status = deflateSetDictionary(stream, base.assumingMemoryBound(to: Bytef.self), UInt32(dictionary.count))
            guard status == Z_OK else { throw .zlibFailure(code: status, message: "deflateSetDictionary failed") }
        }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = UInt32(input.count)
        stream.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = UInt32(output.count)
        status = deflate(stream, final ? Z_FINISH : Z_SYNC_FLUSH)
        let produced = output.count - Int(stream.pointee.avail_out)
        let complete = final ? status == Z_STREAM_END : (status == Z_OK && stream.pointee.avail_in == 0 && stream.pointee.avail_out > 0)
        stream.pointee.next_in = nil
        stream.pointee.next_out = nil
        guard complete else { throw .zlibFailure(code: status, message: "deflate did not finish a block") }
        return produced
    }
}

/// zlib's CRC-32 (the gzip trailer's checksum).
enum CRC32 {
    /// The CRC of what `crc` covered followed by `bytes`.
    static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
        return UInt32(truncatingIfNeeded: crc32_z(uLong(crc), base.assumingMemoryBound(to: Bytef.self), bytes.count))
    }

    /// The CRC of what `crc` covered followed by `byte`.
    static func update(_ crc: UInt32, _ byte: UInt8) -> UInt32 {
        withUnsafeBytes(of: byte) { update(crc, $0) }
    }

    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return 0 }
        return UInt32(truncatingIfNeeded: crc32_z(0, base.assumingMemoryBound(to: Bytef.self), bytes.count))
    }

    /// The CRC of two pieces joined, from each piece's CRC and the second's length.
    static func combine(_ first: UInt32, _ second: UInt32, secondLength: Int) -> UInt32 {
        UInt32(truncatingIfNeeded: crc32_combine(uLong(first), uLong(second), off_t(secondLength)))
    }
}
