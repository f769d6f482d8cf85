import Foundation
import PARBytes
import PARTestSupport
import Testing

/// The hand-offs between two threads: read-ahead, the download-to-verifier channel, and
/// hashing beside a copy. Each must give exactly the stream, its error where it happened,
/// and let go when one side stops.
@Suite struct ThreadHandOffTests {
    /// A source of `bytes` that fails after `failAfter` bytes, handing out `step` at a time.
    final class Scripted: ByteSource {
        let bytes: [UInt8]
        let step: Int
        let failAfter: Int?
        var offset = 0
        struct Broken: Error, Equatable {}

        init(_ bytes: [UInt8], step: Int, failAfter: Int? = nil) {
            (self.bytes, self.step, self.failAfter) = (bytes, step, failAfter)
        }

        func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            if let failAfter, offset >= failAfter { throw Broken() }
            let count = min(buffer.count, step, bytes.count - offset, (failAfter ?? .max) - offset)
            guard count > 0 else { return 0 }
            bytes.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + count)])) }
            offset += count
            return count
        }
    }

    @Test(arguments: [1, 777, 5000, 1 << 20])
    func readAheadGivesTheStreamExactly(step: Int) throws {
        let data = pattern(3_000_000, seed: 5)
        let source = ReadAheadSource(Scripted(data, step: step), bufferSize: 4096, depth: 3)
        #expect(try readToEnd(source, chunk: 1000) == data)
        #expect(try readToEnd(source, chunk: 1000) == [])
    }

    @Test func readAheadGivesTheBytesBeforeAnErrorThenTheError() throws {
        let data = pattern(100_000, seed: 6)
        let source = ReadAheadSource(Scripted(data, step: 3000, failAfter: 50_000), bufferSize: 4096, depth: 2)
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1000)
        #expect(throws: Scripted.Broken()) {
            while true {
                let count = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
                received += buffer[..<count]
                if count == 0 { break }
            }
        }
        #expect(received == Array(data[..<50_000]))
    }

    @Test func anAbandonedReadAheadStopsItsProducer() throws {
        let endless = Scripted(pattern(64 << 20, seed: 7), step: 1 << 16)
        do {
            let source = ReadAheadSource(endless, bufferSize: 1 << 16, depth: 2)
            var buffer = [UInt8](repeating: 0, count: 10)
            _ = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
        }
        // The producer stops within its buffers: it never reads the 64 MiB.
        Thread.sleep(forTimeInterval: 0.2)
        #expect(endless.offset <= 4 << 16)
    }

    @Test func theChannelCarriesEveryByteInOrderAndAbandonmentReachesTheReader() throws {
        let data = pattern(2_000_000, seed: 8)
        let channel = ByteChannel(capacity: 10_000)
        let done = DispatchSemaphore(value: 0)
        let received = LockedBytes()
        Thread.detachNewThread {
            received.set(try? readToEnd(channel, chunk: 3333))
            done.signal()
        }
        data.withUnsafeBytes { bytes in
            for start in stride(from: 0, to: bytes.count, by: 7919) {
                channel.send(UnsafeRawBufferPointer(rebasing: bytes[start..<min(start + 7919, bytes.count)]))
            }
        }
        channel.close()
        done.wait()
        #expect(received.get() == data)

        let abandoned = ByteChannel()
        abandoned.send(UnsafeRawBufferPointer(start: nil, count: 0))
        abandoned.abandon()
        #expect(throws: ByteChannel.Abandoned.self) { _ = try readToEnd(abandoned, chunk: 10) }
        // A reader that left never holds the sender up, however much is sent.
        let left = ByteChannel(capacity: 10)
        left.finishReading()
        data.withUnsafeBytes { left.send($0) }
    }

    @Test func aHashedCopyHashesWhatItCopiedAndStopsOnAnError() throws {
        let data = pattern(5_000_001, seed: 9)
        var copied: [UInt8] = []
        let (size, hash) = try HashingPipeline.copy(from: Scripted(data, step: 100_003), bufferSize: 65_536) { copied += $0 }
        #expect(size == UInt64(data.count))
        #expect(copied == data)
        #expect(hash == SHA256Hash.of(data))
        #expect(try HashingPipeline.copy(from: Scripted([], step: 1)) { _ in }.hash == SHA256Hash.of([]))
        struct Full: Error {}
        var calls = 0
        #expect(throws: Full.self) {
            _ = try HashingPipeline.copy(from: Scripted(data, step: 100_003), bufferSize: 65_536) { _ in
                calls += 1
                if calls == 3 { throw Full() }
            }
        }
        #expect(calls == 3)
        #expect(throws: Scripted.Broken.self) {
            _ = try HashingPipeline.copy(from: Scripted(data, step: 1000, failAfter: 300_000)) { _ in }
        }
    }
}

/// Bytes one thread sets and another reads.
final class LockedBytes: @unchecked Sendable {
    private let lock = NSLock()
    private var bytes: [UInt8]?
    func set(_ value: [UInt8]?) { lock.withLock { bytes = value } }
    func get() -> [UInt8]? { lock.withLock { bytes } }
}
