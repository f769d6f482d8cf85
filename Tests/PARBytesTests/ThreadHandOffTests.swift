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

    @Test func anAbandonedReadAheadJoinsItsProducerBeforeItIsGone() throws {
        var endless = Scripted(pattern(4 << 20, seed: 7), step: 1 << 16)
        do {
            let source = ReadAheadSource(endless, bufferSize: 1 << 16, depth: 2)
            var buffer = [UInt8](repeating: 0, count: 10)
            _ = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
        }
        // Its producer was joined: nothing holds or reads the source any more, and it read
        // no more than its buffers (two, and the one it held when told to stop).
        #expect(isKnownUniquelyReferenced(&endless))
        #expect(endless.offset <= 3 << 16)
    }

    @Test func theChannelCarriesEveryByteInOrderAndAbandonmentReachesTheReader() async throws {
        let data = pattern(2_000_000, seed: 8)
        let channel = ByteChannel(capacity: 10_000)
        let received = Monitor<[UInt8]?>(nil)
        let reader = try WorkerThread { received.withLock { $0 = try? readToEnd(channel, chunk: 3333) } }
        for start in stride(from: 0, to: data.count, by: 7919) {
            // Suspends, never blocks, while the reader is 10,000 bytes behind.
            await channel.send(Array(data[start..<min(start + 7919, data.count)]))
        }
        channel.close()
        reader.join()
        #expect(received.value == data)

        let abandoned = ByteChannel()
        await abandoned.send([])
        abandoned.abandon()
        #expect(throws: ByteChannel.Abandoned.self) { _ = try readToEnd(abandoned, chunk: 10) }
    }

    @Test func aReaderThatLeftNeverHoldsTheSenderUp() async throws {
        let left = ByteChannel(capacity: 10)
        let sent = Monitor(0)
        let sender = Task.detached {
            // Far over the capacity, in many sends: each would wait for a reader still there.
            for _ in 0..<100 {
                await left.send(pattern(1000, seed: 1))
                sent.withLock { $0 += 1 }
            }
        }
        try await Task.sleep(for: .milliseconds(100))
        // The first send is over the capacity: it waits, until the reader leaves.
        #expect(sent.value == 0)
        left.finishReading()
        let deadline = ContinuousClock.now + .seconds(10)
        while sent.value < 100, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(sent.value == 100)
        if sent.value == 100 { await sender.value }
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

