/// Reports progress of long work: bytes done so far, and bytes to do in all.
public typealias ProgressHandler = (_ completed: UInt64, _ total: UInt64) -> Void

/// Bytes done out of a total, reported to a caller's handler. A class, so the closures that
/// stream bytes can all count into one.
final class ProgressCounter {
    let total: UInt64
    let handler: ProgressHandler?
    private(set) var done: UInt64 = 0

    init(total: UInt64, handler: ProgressHandler?) {
        self.total = total
        self.handler = handler
    }

    func advance(_ count: Int) {
        done += UInt64(count)
        handler?(done, max(total, done))
    }
}

/// A file source that counts the bytes read, for progress.
final class ProgressSource: ByteSource {
    private let source: FileSource
    private let report: (Int) -> Void
    var path: String { source.path }

    init(_ source: FileSource, report: @escaping (Int) -> Void) {
        self.source = source
        self.report = report
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let read = try source.read(into: buffer)
        report(read)
        return read
    }
}
