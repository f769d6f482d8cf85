/// A source that shows every chunk read through it to a tap (to count it for progress, or
/// hash it) before passing it on: one read of a stream serves the reader and the tap.
package final class TappedSource: ByteSource {
    private let source: any ByteSource
    private let tap: (UnsafeRawBufferPointer) -> Void

    /// Wraps a source.
    ///
    /// - Parameters:
    ///   - source: Where the bytes come from.
    ///   - tap: Given every chunk, in order, as it is read.
    package init(_ source: any ByteSource, tap: @escaping (UnsafeRawBufferPointer) -> Void) {
        self.source = source
        self.tap = tap
    }

    package func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = try source.read(into: buffer)
        if count > 0 { tap(UnsafeRawBufferPointer(rebasing: buffer[..<count])) }
        return count
    }

    /// Reads what the consumer left unread (such as the zeros after a tar's end marker), so
    /// the tap has seen the whole stream.
    package func drain() throws {
        try forEachChunk { _ in }
    }
}
