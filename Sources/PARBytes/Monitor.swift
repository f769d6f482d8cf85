#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A mutex with one condition: what the package's hand-offs between two threads wait on
/// (``ReadAheadSource``, ``ByteChannel``, ``HashingPipeline``).
package final class Monitor: @unchecked Sendable {
    // Heap-allocated: pthread objects must not move, and a class's stored property may.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    package init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Runs `body` holding the mutex.
    package func locked<Result>(_ body: () throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Waits, inside ``locked(_:)``, until another thread calls ``broadcast()``.
    package func wait() {
        pthread_cond_wait(condition, mutex)
    }

    /// Wakes every waiter; call it inside ``locked(_:)`` after changing what they wait for.
    package func broadcast() {
        pthread_cond_broadcast(condition)
    }

    /// Starts `body` on a new thread that nobody joins; the caller learns of its end through
    /// what `body` changes under the lock.
    ///
    /// - Returns: 0, or the error number when no thread could be made.
    package static func detach(_ body: @escaping @Sendable () -> Void) -> Int32 {
        final class Box {
            let body: @Sendable () -> Void
            init(_ body: @escaping @Sendable () -> Void) { self.body = body }
        }
        var thread = pthread_t()
        let context = Unmanaged.passRetained(Box(body)).toOpaque()
        let status = pthread_create(&thread, nil, { context in
            guard let context else { return nil }
            Unmanaged<Box>.fromOpaque(context).takeRetainedValue().body()
            return nil
        }, context)
        if status == 0 {
            pthread_detach(thread)
        } else {
            Unmanaged<Box>.fromOpaque(context).release()
        }
        return status
    }
}
