/// Opens the tar stream inside an archive's bytes, plain or gzip, telling which it was
/// (PAR-FORMAT section 1: `1f 8b` means gzip). The one place that sniffs compression.
enum ArchiveContainer {
    static func open(_ source: any ByteSource) throws -> (tar: TarReader, isCompressed: Bool) {
        let peeking = PeekingSource(source)
        let isCompressed = GzipReader.isGzip(try peeking.peek(2))
        return (TarReader(isCompressed ? try GzipReader(peeking) : peeking), isCompressed)
    }
}

/// A source that can look at its first bytes before they are read (to sniff gzip).
final class PeekingSource: ByteSource {
    private let source: any ByteSource
    private var peeked: [UInt8] = []
    private var peekedPosition = 0

    init(_ source: any ByteSource) {
        self.source = source
    }

    /// Up to `count` first bytes, fewer only when the stream is shorter.
    func peek(_ count: Int) throws -> [UInt8] {
        while peeked.count < count {
            var buffer = [UInt8](repeating: 0, count: count - peeked.count)
            let read = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
            if read == 0 { break }
            peeked += buffer[..<read]
        }
        return Array(peeked.prefix(count))
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
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
