/// Reads a source on a thread of its own, a few buffers ahead of the reader: while one core
/// produces the bytes (inflating gzip, reading a file), the reader's core consumes them
/// (parsing tar, hashing), with a small bounded queue between them.
///
/// Memory is `depth` buffers of `bufferSize` bytes, whatever the stream's length. The
/// source's error reaches the reader where the stream failed, after the bytes before it.
/// Once ``read(into:)`` has returned 0 or thrown the source's error, the producer has
/// finished with the source, so the caller may use it again (to drain what is left, say). A
/// reader that stops early stops the producer after the read it is in, and this object's
/// end joins the producer's thread: once it is gone, nothing reads the source. That join
/// waits for the read in flight, so a source whose read can block for ever (an idle pipe)
/// holds the reader's end until it returns.
package final class ReadAheadSource: ByteSource {
    private let shared: Shared
    private let producer: WorkerThread?
    /// The buffer being read from, and how far.
    private var current: (index: Int, start: Int, end: Int)?
    private var ended = false

    /// Starts reading `source` ahead, on a new thread.
    ///
    /// - Parameters:
    ///   - source: The stream to read; touched only by the producer thread from now on,
    ///     until the stream ends or this object is gone.
    ///   - bufferSize: Bytes per buffer.
    ///   - depth: Buffers in flight; at least 2.
    package init(_ source: any ByteSource, bufferSize: Int = 512 << 10, depth: Int = 4) {
        let shared = Shared(bufferSize: max(bufferSize, 4096), depth: max(depth, 2))
        // Handed over: from here on only the producer reads the source.
        let handed = HandedOver(source)
        self.shared = shared
        do {
            producer = try WorkerThread { shared.produce(from: handed.value) }
        } catch {
            // No thread: the reader gets the failure instead of waiting forever.
            producer = nil
            shared.state.withLock { $0.failure = error }
        }
    }

    deinit {
        shared.state.withLock { $0.cancelled = true }
        producer?.join()
    }

    package func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard buffer.count > 0, !ended else { return 0 }
        if current == nil {
            switch try shared.takeFilled() {
            case .some((let index, let count)): current = (index, 0, count)
            case .none:
                ended = true
                return 0
            }
        }
        guard let (index, start, end) = current else { return 0 }
        let count = min(buffer.count, end - start)
        buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: shared.buffers.value[index][start..<(start + count)]))
        if start + count == end {
            current = nil
            shared.state.withLock { $0.free.append(index) }
        } else {
            current = (index, start + count, end)
        }
        return count
    }

    private struct State {
        /// Buffers ready to fill, and filled ones in order (index, byte count).
        var free: [Int]
        var filled: [(index: Int, count: Int)] = []
        /// Set once the source ended (count 0 queued) or failed.
        var failure: (any Error)?
        var finished = false
        var cancelled = false
    }

    /// The buffers and their hand-offs between the two threads.
    private final class Shared: Sendable {
        // Each buffer belongs to one side at a time: the producer while it is free, the
        // reader once filled, as `state` says.
        let buffers: HandedOver<[UnsafeMutableRawBufferPointer]>
        let state: Monitor<State>

        init(bufferSize: Int, depth: Int) {
            buffers = HandedOver((0..<depth).map { _ in .allocate(byteCount: bufferSize, alignment: 64) })
            state = Monitor(State(free: Array(0..<depth)))
        }

        deinit {
            for buffer in buffers.value { buffer.deallocate() }
        }

        /// The producer: fills free buffers until the source ends or fails, or the reader goes.
        func produce(from source: any ByteSource) {
            while true {
                let index: Int? = state.withLock(waitingUntil: { !$0.free.isEmpty || $0.cancelled }) { state in
                    state.cancelled ? nil : state.free.removeFirst()
                }
                guard let index else { return }
                let buffer = buffers.value[index]
                var count = 0
                var error: (any Error)?
                do {
                    // Full buffers: fewer hand-offs, whatever sizes the source returns. A
                    // reader that left stops this after the read in flight, not a buffer later.
                    while count < buffer.count {
                        let read = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[count...]))
                        if read == 0 { break }
                        count += read
                        if state.value.cancelled { return }
                    }
                } catch let caught {
                    error = caught
                }
                let done: Bool = state.withLock { state in
                    if count > 0 { state.filled.append((index, count)) } else { state.free.append(index) }
                    if let error {
                        state.failure = error
                    } else if count < buffer.count {
                        state.finished = true
                    }
                    return state.failure != nil || state.finished
                }
                if done { return }
            }
        }

        /// The next filled buffer, `nil` at the end; throws the source's error in its place.
        func takeFilled() throws -> (index: Int, count: Int)? {
            let (next, error) = state.withLock(waitingUntil: { !$0.filled.isEmpty || $0.failure != nil || $0.finished }) {
                state -> ((index: Int, count: Int)?, (any Error)?) in
                if !state.filled.isEmpty { return (state.filled.removeFirst(), nil) }
                return (nil, state.failure)
            }
            if let error { throw error }
            return next
        }
    }
}
