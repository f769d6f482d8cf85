/// A pipe from async code to a thread: a download task ``send(_:)``s bytes as they arrive,
/// and a verifier on a thread of its own reads them as a ``ByteSource``, so both happen in
/// one pass.
///
/// One task sends at a time. At most `capacity` bytes wait in between: a sender ahead of the
/// reader is suspended (its task, not its thread) until the reader catches up. Once the reader is done (it stopped
/// early, say on an error), sent bytes are dropped, so the sender never waits for a reader
/// that left.
package final class ByteChannel: ByteSource, Sendable {
    /// Why a read ended without the stream's end: the sender gave up.
    package struct Abandoned: Error {}

    private struct State {
        var chunks: [[UInt8]] = []
        var head = 0
        var offset = 0
        var queued = 0
        var closed = false
        var abandoned = false
        var readerDone = false
        /// A sender suspended until there is room.
        var waitingSender: CheckedContinuation<Void, Never>?
    }

    private let capacity: Int
    private let state = Monitor(State())

    /// Creates an empty channel.
    ///
    /// - Parameter capacity: The most bytes held between the two sides.
    package init(capacity: Int = 8 << 20) {
        self.capacity = max(capacity, 1)
    }

    /// Sends `bytes`, suspending while the channel is full.
    package func send(_ bytes: [UInt8]) async {
        guard bytes.count > 0 else { return }
        let copy = bytes
        let capacity = self.capacity
        let queued = state.withLock { state -> Bool in
            guard !state.readerDone else { return true }
            state.chunks.append(copy)
            state.queued += copy.count
            return state.queued < capacity
        }
        guard !queued else { return }
        // Over capacity: wait for the reader to take enough (or to leave).
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let roomAlready = state.withLock { state -> Bool in
                if state.readerDone || state.queued < capacity { return true }
                precondition(state.waitingSender == nil, "ByteChannel: two tasks sent at once")
                state.waitingSender = continuation
                return false
            }
            if roomAlready { continuation.resume() }
        }
    }

    /// Ends the stream: the reader gets the rest, then 0.
    package func close() {
        state.withLock { $0.closed = true }
    }

    /// Ends the stream early: the reader's next read throws ``Abandoned``.
    package func abandon() {
        state.withLock { $0.abandoned = true }
    }

    /// Tells the sender that nothing more will be read.
    package func finishReading() {
        let sender = state.withLock { state in
            state.readerDone = true
            (state.chunks, state.head, state.offset, state.queued) = ([], 0, 0, 0)
            defer { state.waitingSender = nil }
            return state.waitingSender
        }
        sender?.resume()
    }

    package func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard buffer.count > 0 else { return 0 }
        let capacity = self.capacity
        let (count, sender) = try state.withLock(
            waitingUntil: { $0.head < $0.chunks.count || $0.closed || $0.abandoned }
        ) { state throws -> (Int, CheckedContinuation<Void, Never>?) in
            if state.abandoned { throw Abandoned() }
            guard state.head < state.chunks.count else { return (0, nil) }
            let offset = state.offset
            let count = state.chunks[state.head].withUnsafeBytes { chunk in
                let count = min(buffer.count, chunk.count - offset)
                buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: chunk[offset..<(offset + count)]))
                return count
            }
            state.offset += count
            state.queued -= count
            if state.offset == state.chunks[state.head].count {
                state.chunks[state.head] = []
                state.head += 1
                state.offset = 0
                // Drop what was read, now and then, so the array does not grow with the stream.
                if state.head > 64 {
                    state.chunks.removeFirst(state.head)
                    state.head = 0
                }
            }
            guard state.queued < capacity, let sender = state.waitingSender else { return (count, nil) }
            state.waitingSender = nil
            return (count, sender)
        }
        sender?.resume()
        return count
    }
}
