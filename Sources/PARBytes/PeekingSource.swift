/// A source that can look at its first bytes before they are read, to sniff a format
/// (gzip's `1f 8b`) without consuming anything.
package final class PeekingSource: ByteSource {
    private let source: any ByteSource
    private var peeked: [UInt8] = []
    private var peekedPosition = 0

    /// Wraps a source.
    package init(_ source: any ByteSource) {
        self.source = source
    }

    /// Up to `count` first bytes, fewer only when the stream is shorter.
    package func peek(_ count: Int) throws -> [UInt8] {
        while peeked.count < count {
            var buffer = [UInt8](repeating: 0, count: count - peeked.count)
            let read = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
            if read == 0 { break }
            peeked += buffer[..<read]
        }
        return Array(peeked.prefix(count))
    }

    package func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if peekedPosition < peeked.count {
            let count = min(buffer.count, peeked.count - peekedPosition)
            peeked.withUnsafeBytes {
                buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[peekedPosition..<peekedPosition + count]))
            }
            peekedPosition += count
            return count
        }
        return try source.read(into: buffer)
    }
}
