#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// The package's one home for threads and locks. Everything that crosses threads uses these:
// a `Monitor` guards shared state (a mutex with one condition), a `WorkerThread` runs work
// beside the caller and is joined, and `offload` runs blocking work for async code on a
// thread of its own, so no cooperative thread ever waits on a lock, a file or a peer.

/// State shared between threads, reached only with its mutex held, with one condition that
/// every change signals: the read-ahead, the hashing pipeline, the download channel, the gzip
/// writer's blocks, the byte counters and the console's progress line all keep theirs in one.
// Unchecked: the state is touched only inside `withLock`, under the mutex, as Swift's `Mutex`
// does it; the pthread objects are heap-allocated so that they never move.
package final class Monitor<State>: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var state: State

    /// Guards `state`.
    package init(_ state: State) {
        self.state = state
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Runs `body` on the state, holding the mutex, then wakes every waiter.
    package func withLock<Result>(_ body: (inout State) throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer {
            pthread_cond_broadcast(condition)
            pthread_mutex_unlock(mutex)
        }
        return try body(&state)
    }

    /// Waits until `ready` holds of the state, then runs `body` on it, holding the mutex
    /// throughout but while waiting, then wakes every waiter.
    package func withLock<Result>(
        waitingUntil ready: (State) -> Bool, _ body: (inout State) throws -> Result
    ) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer {
            pthread_cond_broadcast(condition)
            pthread_mutex_unlock(mutex)
        }
        while !ready(state) { pthread_cond_wait(condition, mutex) }
        return try body(&state)
    }

    /// The state's current value.
    package var value: State {
        withLock { $0 }
    }
}

/// A value handed to another thread together with the rule that keeps it safe, which the
/// comment where it is made states (one owner at a time, handed over through a ``Monitor``;
/// or disjoint parts per thread).
// Unchecked: what makes each use safe is that use's discipline, not the value's type.
package struct HandedOver<Value>: @unchecked Sendable {
    package let value: Value

    package init(_ value: Value) {
        self.value = value
    }
}

/// Why a thread could not be started.
package struct ThreadStartError: Error, CustomStringConvertible {
    /// The system's error number.
    package let code: Int32

    package var description: String { "cannot start a thread: \(String(cString: strerror(code)))" }
}

/// A thread running one closure beside its starter, which joins it: nothing it touches is
/// used after ``join()`` returns, and its owner joins it, at the latest, when it goes away.
package final class WorkerThread: Sendable {
    /// The thread until it is joined.
    private let handle: Monitor<pthread_t?>

    /// Starts `body` on a new thread.
    ///
    /// - Throws: ``ThreadStartError`` when the system has no thread to give.
    package init(_ body: @escaping @Sendable () -> Void) throws(ThreadStartError) {
        final class Box {
            let body: @Sendable () -> Void
            init(_ body: @escaping @Sendable () -> Void) { self.body = body }
        }
        let context = Unmanaged.passRetained(Box(body)).toOpaque()
        #if canImport(Glibc)
        var thread = pthread_t()
        #else
        var thread: pthread_t? = nil
        #endif
        // The start routine's argument is optional on Glibc, not on Darwin: taken as optional.
        let status = pthread_create(&thread, nil, { context in
            guard let context = context as UnsafeMutableRawPointer? else { return nil }
            Unmanaged<Box>.fromOpaque(context).takeRetainedValue().body()
            return nil
        }, context)
        guard status == 0 else {
            Unmanaged<Box>.fromOpaque(context).release()
            throw ThreadStartError(code: status)
        }
        handle = Monitor(thread)
    }

    deinit {
        join()
    }

    /// Waits until the closure has returned; at once if it has been joined before.
    package func join() {
        let thread = handle.withLock { handle in
            defer { handle = nil }
            return handle
        }
        if let thread { pthread_join(thread, nil) }
    }
}

/// Runs `body(0)` to `body(iterations - 1)`, the first on this thread and the others each on
/// a thread of its own, and returns once all have returned. Where no thread can be started,
/// those iterations run on this thread.
package func performConcurrently(iterations: Int, _ body: @escaping @Sendable (Int) -> Void) {
    guard iterations > 1 else {
        if iterations == 1 { body(0) }
        return
    }
    var threads: [WorkerThread] = []
    var inline: [Int] = [0]
    for iteration in 1..<iterations {
        if let thread = try? WorkerThread({ body(iteration) }) { threads.append(thread) } else { inline.append(iteration) }
    }
    for iteration in inline { body(iteration) }
    for thread in threads { thread.join() }
}

/// Runs blocking work (a lock wait, hashing a whole file, an extraction, a wait for a
/// peer) on a thread of its own, so the awaiting task's cooperative thread stays free.
/// The thread is joined before this returns; its last act is resuming the caller, so the
/// join waits at most for that thread to return. When the system has no thread to give,
/// this waits (suspended) and tries again: the work never runs on a cooperative thread.
///
/// - Parameter body: The work; it runs exactly once, on a new thread.
/// - Returns: What `body` returned.
/// - Throws: What `body` threw.
package func offload<Value: Sendable, Failure: Error>(
    _ body: @escaping @Sendable () throws(Failure) -> Value
) async throws(Failure) -> Value {
    let thread = Monitor<WorkerThread?>(nil)
    var outcome: Result<Value, Failure>?
    while outcome == nil {
        outcome = await withCheckedContinuation { (continuation: CheckedContinuation<Result<Value, Failure>?, Never>) in
            let work: @Sendable () -> Void = { continuation.resume(returning: Result { () throws(Failure) -> Value in try body() }) }
            // Set before the awaiting task can go on: that waits for this closure's return.
            thread.withLock { $0 = try? WorkerThread(work) }
            if thread.value == nil { continuation.resume(returning: nil) }
        }
        if outcome == nil { try? await Task.sleep(for: .milliseconds(10)) }
    }
    thread.value?.join()
    return try outcome!.get()
}
