/// Copies a stream while a second thread computes its SHA-256, so that hashing takes no
/// time from the copy on a machine with two cores: the caller's thread reads a chunk and
/// passes it on (to a file, a tar entry), and the hashing thread reads the same chunk
/// meanwhile. Chunks are reused only once both are done with them.
package enum HashingPipeline {
    /// Reads `source` to its end, giving each chunk to `consume` on this thread while a
    /// second thread hashes it.
    ///
    /// - Parameters:
    ///   - source: The stream to read.
    ///   - bufferSize: Bytes per chunk.
    ///   - depth: Chunks in flight; at least 2.
    ///   - consume: Takes each chunk, in order; may throw to stop.
    /// - Returns: The number of bytes read and their SHA-256.
    /// - Throws: What `source` or `consume` threw.
    package static func copy(
        from source: any ByteSource, bufferSize: Int = streamChunkSize, depth: Int = 4,
        _ consume: (UnsafeRawBufferPointer) throws -> Void
    ) throws -> (size: UInt64, hash: SHA256Hash) {
        let shared = Shared(bufferSize: max(bufferSize, 4096), depth: max(depth, 2))
        guard let hashing = try? WorkerThread({ shared.hashUntilEnd() }) else {
            // No second thread: hash on this one.
            let read = DigestingSource(source)
            try read.forEachChunk(consume)
            return (read.size, read.digest)
        }
        // Whatever happens here, the hashing thread is told to stop and joined, so no chunk
        // is touched after this returns.
        defer {
            shared.state.withLock { $0.ended = true }
            hashing.join()
        }
        var size: UInt64 = 0
        var next = 0
        let buffers = shared.buffers.value
        while true {
            let index = next
            next = (next + 1) % buffers.count
            shared.state.withLock(waitingUntil: { $0.hashing != index && !$0.pending.contains(where: { $0.index == index }) }) { _ in }
            let buffer = buffers[index]
            let count = try source.readFully(into: buffer)
            guard count > 0 else { break }
            shared.state.withLock { $0.pending.append((index, count)) }
            try consume(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
            size += UInt64(count)
            if count < buffer.count { break }
        }
        shared.state.withLock { $0.ended = true }
        hashing.join()
        return (size, shared.state.value.digest ?? SHA256Hash.of([]))
    }

    private struct State {
        /// Chunks waiting to be hashed, in order, and the one being hashed.
        var pending: [(index: Int, count: Int)] = []
        var hashing: Int?
        var ended = false
        var digest: SHA256Hash?
    }

    /// The chunks and the queue between the two threads.
    private final class Shared: Sendable {
        // A chunk belongs to the copying thread until it is pending, then to the hashing
        // thread until it is neither pending nor being hashed, as `state` says.
        let buffers: HandedOver<[UnsafeMutableRawBufferPointer]>
        let state = Monitor(State())

        init(bufferSize: Int, depth: Int) {
            buffers = HandedOver((0..<depth).map { _ in .allocate(byteCount: bufferSize, alignment: 64) })
        }

        deinit {
            for buffer in buffers.value { buffer.deallocate() }
        }

        /// The hashing thread: hashes pending chunks in order until told the copy ended.
        func hashUntilEnd() {
            var hasher = SHA256Hasher()
            while true {
                let next = state.withLock(waitingUntil: { !$0.pending.isEmpty || $0.ended }) { state -> (index: Int, count: Int)? in
                    guard !state.pending.isEmpty else { return nil }
                    let next = state.pending.removeFirst()
                    state.hashing = next.index
                    return next
                }
                guard let (index, count) = next else { break }
                hasher.update(UnsafeRawBufferPointer(rebasing: buffers.value[index][..<count]))
                state.withLock { $0.hashing = nil }
            }
            let result = hasher.finalize()
            state.withLock { $0.digest = result }
        }
    }
}
