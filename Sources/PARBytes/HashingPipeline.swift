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
        guard Monitor.detach({ shared.hashUntilEnd() }) == 0 else {
            // No second thread: hash on this one.
            var hasher = SHA256Hasher()
            var size: UInt64 = 0
            try source.forEachChunk { chunk in
                hasher.update(chunk)
                size += UInt64(chunk.count)
                try consume(chunk)
            }
            return (size, hasher.finalize())
        }
        // Whatever happens here, the hashing thread is told to stop and waited for, so no
        // chunk is touched after this returns.
        defer { shared.end() }
        var size: UInt64 = 0
        var next = 0
        while true {
            let index = next
            next = (next + 1) % shared.buffers.count
            shared.waitUntilFree(index)
            let buffer = shared.buffers[index]
            let count = try source.readFully(into: buffer)
            guard count > 0 else { break }
            shared.submit(index, count: count)
            try consume(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
            size += UInt64(count)
            if count < buffer.count { break }
        }
        return (size, shared.end())
    }

    /// The chunks and the queue between the two threads.
    private final class Shared: @unchecked Sendable {
        let buffers: [UnsafeMutableRawBufferPointer]
        private let monitor = Monitor()
        /// Chunks waiting to be hashed, in order, and the one being hashed.
        private var pending: [(index: Int, count: Int)] = []
        private var hashing: Int?
        private var ended = false
        private var digest: SHA256Hash?

        init(bufferSize: Int, depth: Int) {
            buffers = (0..<depth).map { _ in .allocate(byteCount: bufferSize, alignment: 64) }
        }

        deinit {
            for buffer in buffers { buffer.deallocate() }
        }

        /// The hashing thread.
        func hashUntilEnd() {
            var hasher = SHA256Hasher()
            while true {
                let next: (index: Int, count: Int)? = monitor.locked {
                    while pending.isEmpty, !ended { monitor.wait() }
                    guard !pending.isEmpty else { return nil }
                    let next = pending.removeFirst()
                    hashing = next.index
                    return next
                }
                guard let (index, count) = next else { break }
                hasher.update(UnsafeRawBufferPointer(rebasing: buffers[index][..<count]))
                monitor.locked {
                    hashing = nil
                    monitor.broadcast()
                }
            }
            let result = hasher.finalize()
            monitor.locked {
                digest = result
                monitor.broadcast()
            }
        }

        func waitUntilFree(_ index: Int) {
            monitor.locked {
                while hashing == index || pending.contains(where: { $0.index == index }) { monitor.wait() }
            }
        }

        func submit(_ index: Int, count: Int) {
            monitor.locked {
                pending.append((index, count))
                monitor.broadcast()
            }
        }

        /// Tells the hashing thread no more chunks come, and waits for its digest.
        @discardableResult
        func end() -> SHA256Hash {
            monitor.locked {
                ended = true
                monitor.broadcast()
                while digest == nil { monitor.wait() }
                return digest ?? SHA256Hash.of([])
            }
        }
    }
}
