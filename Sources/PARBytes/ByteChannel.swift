/// A pipe between two threads: one ``send(_:)``s bytes as they arrive (a download), the
/// other reads them as a ``ByteSource`` (a verifier), so both happen in one pass.
///
/// At most `capacity` bytes wait in between: a sender ahead of the reader waits for it. Once
/// the reader is done (it stopped early, say on an error), sent bytes are dropped, so the
/// sender never waits for a reader that left.
package final class ByteChannel: ByteSource, @unchecked Sendable {
    /// Why a read ended without the stream's end: the sender gave up.
    package struct Abandoned: Error {}

    private let capacity: Int
    private let monitor = Monitor()
    private var chunks: [[UInt8]] = []
    private var head = 0
    private var offset = 0
    private var queued = 0
    private var closed = false
    private var abandoned = false
    private var readerDone = false

    /// Creates an empty channel.
    ///
    /// - Parameter capacity: The most bytes held between the threads.
    package init(capacity: Int = 8 << 20) {
        self.capacity = max(capacity, 1)
    }

    /// Sends a copy of `bytes`, waiting while the channel is full.
    package func send(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        let copy = Array(bytes)
        monitor.locked {
            while queued >= capacity, !readerDone { monitor.wait() }
            guard !readerDone else { return }
            chunks.append(copy)
            queued += copy.count
            monitor.broadcast()
        }
    }

    /// Ends the stream: the reader gets the rest, then 0.
    package func close() {
        monitor.locked {
            closed = true
            monitor.broadcast()
        }
    }

    /// Ends the stream early: the reader's next read throws ``Abandoned``.
    package func abandon() {
        monitor.locked {
            abandoned = true
            monitor.broadcast()
        }
    }

    /// Tells senders that nothing more will be read.
    package func finishReading() {
        monitor.locked {
            readerDone = true
            chunks = []
            head = 0
            offset = 0
            queued = 0
            monitor.broadcast()
        }
    }

    package func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard buffer.count > 0 else { return 0 }
        return try monitor.locked { () throws -> Int in
            while head == chunks.count, !closed, !abandoned { monitor.wait() }
            if abandoned { throw Abandoned() }
            guard head < chunks.count else { return 0 }
            let count = chunks[head].withUnsafeBytes { chunk in
                let count = min(buffer.count, chunk.count - offset)
                buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: chunk[offset..<(offset + count)]))
                return count
            }
            offset += count
            queued -= count
            if offset == chunks[head].count {
                chunks[head] = []
                head += 1
                offset = 0
                // Drop what was read, now and then, so the array does not grow with the stream.
                if head > 64 {
                    chunks.removeFirst(head)
                    head = 0
                }
            }
            monitor.broadcast()
            return count
        }
    }
}
