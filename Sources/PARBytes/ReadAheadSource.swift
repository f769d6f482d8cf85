/// Reads a source on a thread of its own, a few buffers ahead of the reader: while one core
/// produces the bytes (inflating gzip, reading a file), the reader's core consumes them
/// (parsing tar, hashing), with a small bounded queue between them.
///
/// Memory is `depth` buffers of `bufferSize` bytes, whatever the stream's length. The
/// source's error reaches the reader where the stream failed, after the bytes before it.
/// Once ``read(into:)`` has returned 0 or thrown the source's error, the producer has
/// finished with the source, so the caller may use it again (to drain what is left, say). A
/// reader that stops early stops the producer after its current read.
package final class ReadAheadSource: ByteSource {
    private let queue: Queue
    /// The buffer being read from, and how far.
    private var current: (index: Int, start: Int, end: Int)?
    private var ended = false

    /// Starts reading `source` ahead, on a new thread.
    ///
    /// - Parameters:
    ///   - source: The stream to read; touched only by the producer thread from now on.
    ///   - bufferSize: Bytes per buffer.
    ///   - depth: Buffers in flight; at least 2.
    package init(_ source: any ByteSource, bufferSize: Int = 512 << 10, depth: Int = 4) {
        queue = Queue(source: source, bufferSize: max(bufferSize, 4096), depth: max(depth, 2))
        queue.start()
    }

    deinit {
        queue.cancel()
    }

    package func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard buffer.count > 0, !ended else { return 0 }
        if current == nil {
            switch try queue.takeFilled() {
            case .some((let index, let count)): current = (index, 0, count)
            case .none:
                ended = true
                return 0
            }
        }
        guard let (index, start, end) = current else { return 0 }
        let count = min(buffer.count, end - start)
        buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: queue.buffers[index][start..<(start + count)]))
        if start + count == end {
            current = nil
            queue.release(index)
        } else {
            current = (index, start + count, end)
        }
        return count
    }

    /// The buffers and their hand-offs, shared by the two threads under one mutex.
    private final class Queue: @unchecked Sendable {
        let buffers: [UnsafeMutableRawBufferPointer]
        private let source: any ByteSource
        private let monitor = Monitor()
        /// Buffers ready to fill, and filled ones in order (index, byte count).
        private var free: [Int]
        private var filled: [(index: Int, count: Int)] = []
        /// Set once the source ended (count 0 queued) or failed.
        private var failure: (any Error)?
        private var finished = false
        private var cancelled = false

        init(source: any ByteSource, bufferSize: Int, depth: Int) {
            self.source = source
            buffers = (0..<depth).map { _ in .allocate(byteCount: bufferSize, alignment: 64) }
            free = Array(0..<depth)
        }

        deinit {
            for buffer in buffers { buffer.deallocate() }
        }

        func start() {
            let status = Monitor.detach { [self] in produce() }
            if status != 0 {
                // No thread: the reader gets the failure instead of waiting forever.
                monitor.locked {
                    failure = FileError(operation: "read", path: "a stream", code: status)
                    monitor.broadcast()
                }
            }
        }

        /// The producer: fills free buffers until the source ends or fails, or the reader goes.
        private func produce() {
            while true {
                let index: Int? = monitor.locked {
                    while free.isEmpty, !cancelled { monitor.wait() }
                    return cancelled ? nil : free.removeFirst()
                }
                guard let index else { return }
                let buffer = buffers[index]
                var count = 0
                var error: (any Error)?
                do {
                    // Full buffers: fewer hand-offs, whatever sizes the source returns.
                    while count < buffer.count {
                        let read = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[count...]))
                        if read == 0 { break }
                        count += read
                    }
                } catch let caught {
                    error = caught
                }
                let done: Bool = monitor.locked {
                    if count > 0 { filled.append((index, count)) } else { free.append(index) }
                    if let error {
                        failure = error
                    } else if count < buffer.count {
                        finished = true
                    }
                    monitor.broadcast()
                    return failure != nil || finished
                }
                if done { return }
            }
        }

        /// The next filled buffer, `nil` at the end; throws the source's error in its place.
        func takeFilled() throws -> (index: Int, count: Int)? {
            let (next, error): ((index: Int, count: Int)?, (any Error)?) = monitor.locked {
                while filled.isEmpty, failure == nil, !finished { monitor.wait() }
                if !filled.isEmpty { return (filled.removeFirst(), nil) }
                return (nil, failure)
            }
            if let error { throw error }
            return next
        }

        func release(_ index: Int) {
            monitor.locked {
                free.append(index)
                monitor.broadcast()
            }
        }

        func cancel() {
            monitor.locked {
                cancelled = true
                monitor.broadcast()
            }
        }
    }
}
