import PARBytes

/// Compresses what is written to it into one gzip member, on all cores, into a ``ByteSink``.
///
/// Input is cut into blocks compressed in parallel, each primed with the 32 KiB before it
/// and ended on a byte boundary (as pigz does), so the result is one ordinary gzip stream
/// that any reader accepts and is within a fraction of a percent of serial zlib's size.
/// Memory: a few blocks of input and output per core, whatever the stream's length.
///
/// Call ``finish()`` once everything is written: it writes the last block and the gzip
/// trailer. The header has mtime 0 and no file name, so the same input gives the same bytes
/// for a given level, whatever the number of cores.
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

        /// zlib's speed/size balance (6): within half a percent of level 9 on executables, twice as fast.
        public static let `default` = Level(6)
        /// The smallest output (9), as the reference writes.
        public static let best = Level(9)
        /// The fastest (1).
        public static let fastest = Level(1)
    }

    /// Input per block. Blocks are independent units of work for the cores.
    static let blockSize = 1 << 20

    private let sink: any ByteSink
    private let deflaters: [BlockDeflater]
    private let blocksPerBatch: Int
    /// The previous 32 KiB of input, then a batch of blocks.
    private let input: UnsafeMutableRawBufferPointer
    private var inputFill: Int
    private var hasHistory = false
    private let output: UnsafeMutableRawBufferPointer
    private let outputCapacity: Int
    private var crc: UInt32 = 0
    private var totalSize: UInt64 = 0
    private var headerWritten = false
    private var finished = false

    private static let windowSize = BlockDeflater.windowSize

    /// Creates a writer.
    ///
    /// - Parameters:
    ///   - sink: Where the compressed stream goes.
    ///   - level: The compression level.
    ///   - parallelism: How many cores to use; all active ones by default.
    /// - Throws: ``GzipError/zlibFailure(code:message:)`` when zlib cannot start.
    public init(_ sink: any ByteSink, level: Level = .default, parallelism: Int? = nil) throws(GzipError) {
        let workers = max(1, min(parallelism ?? activeProcessorCount, 64))
        self.sink = sink
        var deflaters: [BlockDeflater] = []
        for _ in 0..<workers { deflaters.append(try BlockDeflater(level: level.value)) }
        self.deflaters = deflaters
        // Two blocks per core keep every core busy until the batch's end.
        blocksPerBatch = workers == 1 ? 1 : workers * 2
        input = .allocate(byteCount: Self.windowSize + blocksPerBatch * Self.blockSize, alignment: 64)
        inputFill = Self.windowSize
        outputCapacity = BlockDeflater.outputCapacity(forInput: Self.blockSize)
        output = .allocate(byteCount: blocksPerBatch * outputCapacity, alignment: 64)
    }

    deinit {
        input.deallocate()
        output.deallocate()
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard !finished else { throw GzipError.zlibFailure(code: -2, message: "write after finish") }
        var remaining = bytes
        while !remaining.isEmpty {
            let room = input.count - inputFill
            let count = min(room, remaining.count)
            UnsafeMutableRawBufferPointer(rebasing: input[inputFill..<inputFill + count])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: remaining[..<count]))
            inputFill += count
            remaining = UnsafeRawBufferPointer(rebasing: remaining[count...])
            if inputFill == input.count { try compressBatch(final: false) }
        }
    }

    /// Compresses what is left, then writes the gzip trailer. The sink is not closed.
    public func finish() throws {
        guard !finished else { return }
        finished = true
        try compressBatch(final: true)
        var trailer = [UInt8]()
        for shift in stride(from: 0, to: 32, by: 8) { trailer.append(UInt8(truncatingIfNeeded: crc >> UInt32(shift))) }
        for shift in stride(from: 0, to: 32, by: 8) { trailer.append(UInt8(truncatingIfNeeded: totalSize >> UInt64(shift))) }
        try sink.write(trailer)
    }

    private func compressBatch(final: Bool) throws {
        if !headerWritten {
            headerWritten = true
            // Magic, deflate, no flags, mtime 0, no extra flags, OS unknown (255): the same
            // bytes on every platform.
            try sink.write([0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 255])
        }
        let dataCount = inputFill - Self.windowSize
        var blockCount = (dataCount + Self.blockSize - 1) / Self.blockSize
        if final, blockCount == 0 { blockCount = 1 }  // an empty final block ends the stream
        guard blockCount > 0 else { return }

        // Each worker compresses blocks w, w + workers, ...; results land in per-block slots.
        let job = BatchJob(
            Batch(
                input: UnsafeRawBufferPointer(input), output: output, outputCapacity: outputCapacity,
                dataCount: dataCount, blockCount: blockCount, workers: min(deflaters.count, blockCount),
                hasHistory: hasHistory, final: final, deflaters: deflaters))
        performConcurrently(iterations: job.batch.value.workers) { job.run(worker: $0) }
        let slots = job.results.value

        for block in 0..<blockCount {
            let slot = slots[block]
            if let failure = slot.failure { throw failure }
            crc = CRC32.combine(crc, slot.crc, secondLength: slot.length)
            totalSize += UInt64(slot.length)
            try sink.write(UnsafeRawBufferPointer(rebasing: output[(block * outputCapacity)..<(block * outputCapacity + slot.produced)]))
        }
        // Keep the last 32 KiB as the next batch's dictionary.
        if dataCount >= Self.windowSize {
            UnsafeMutableRawBufferPointer(rebasing: self.input[0..<Self.windowSize])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: self.input[(inputFill - Self.windowSize)..<inputFill]))
            hasHistory = true
        }
        inputFill = Self.windowSize
    }
}

/// What one batch of blocks is: the input (the 32 KiB dictionary, then the blocks), where
/// each block's output goes, and how the workers share them.
private struct Batch {
    let input: UnsafeRawBufferPointer
    let output: UnsafeMutableRawBufferPointer
    let outputCapacity: Int
    let dataCount: Int
    let blockCount: Int
    let workers: Int
    let hasHistory: Bool
    let final: Bool
    let deflaters: [BlockDeflater]
}

/// What compressing one block gave.
private struct BlockResult {
    var produced = 0
    var crc: UInt32 = 0
    var length = 0
    var failure: GzipError?
}

/// One batch being compressed: the workers read its ``Batch`` and each writes the output
/// slots of its own blocks only, then records their results under the lock.
private final class BatchJob: Sendable {
    // Shared by the workers: the input is only read, each output slot and deflater is one
    // worker's, and the batch outlives them (they are joined before it is used again).
    let batch: HandedOver<Batch>
    let results: Monitor<[BlockResult]>

    init(_ batch: Batch) {
        self.batch = HandedOver(batch)
        results = Monitor(Array(repeating: BlockResult(), count: batch.blockCount))
    }

    func run(worker: Int) {
        let batch = self.batch.value
        let (input, output, outputCapacity) = (batch.input, batch.output, batch.outputCapacity)
        let (dataCount, blockCount, hasHistory) = (batch.dataCount, batch.blockCount, batch.hasHistory)
        let window = BlockDeflater.windowSize
        for block in stride(from: worker, to: blockCount, by: batch.workers) {
            let start = window + block * GzipWriter.blockSize
            let end = min(start + GzipWriter.blockSize, window + dataCount)
            let data = UnsafeRawBufferPointer(rebasing: input[start..<end])
            let dictionary =
                block > 0 || hasHistory
                ? UnsafeRawBufferPointer(rebasing: input[(start - window)..<start])
                : UnsafeRawBufferPointer(start: nil, count: 0)
            let slot = UnsafeMutableRawBufferPointer(rebasing: output[(block * outputCapacity)..<((block + 1) * outputCapacity)])
            var result = BlockResult()
            do {
                result.produced = try batch.deflaters[worker].compress(
                    data, dictionary: dictionary, final: batch.final && block == blockCount - 1, into: slot)
                result.crc = CRC32.checksum(data)
                result.length = data.count
            } catch {
                result.failure = error
            }
            results.withLock { $0[block] = result }
        }
    }
}
