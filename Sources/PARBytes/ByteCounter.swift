/// Bytes done out of a total, shared by everything that moves the bytes of one job (reads,
/// writes, uploads from any thread) and reported to a progress handler.
///
/// The count is behind a lock; the handler is called on the thread that adds, so one given
/// to a counter shared across threads must be safe to call from them.
package final class ByteCounter: Sendable {
    /// The bytes the job is expected to move; the reported total grows if it moves more.
    package let total: UInt64
    private let handler: (@Sendable (_ completed: UInt64, _ total: UInt64) -> Void)?
    private let done = Monitor<UInt64>(0)

    /// Starts at zero.
    ///
    /// - Parameters:
    ///   - total: The bytes expected in all.
    ///   - handler: Told the bytes done and the total after each step.
    package init(total: UInt64, handler: (@Sendable (_ completed: UInt64, _ total: UInt64) -> Void)?) {
        self.total = total
        self.handler = handler
    }

    /// The bytes counted so far.
    package var completed: UInt64 {
        done.value
    }

    /// Counts `count` more bytes.
    @Sendable package func add(_ count: Int) {
        let now = done.withLock { done in
            done += UInt64(count)
            return done
        }
        handler?(now, max(total, now))
    }
}
