/// Reports progress of long work: bytes done so far, and bytes to do in all.
public typealias ProgressHandler = @Sendable (_ completed: UInt64, _ total: UInt64) -> Void
