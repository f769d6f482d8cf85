import Foundation
import PARBytes
import PARTestSupport
import Testing

@testable import PARContainer

func gzip(_ bytes: [UInt8], level: GzipWriter.Level = .default) throws -> [UInt8] {
    let sink = MemorySink()
    let writer = try GzipWriter(sink, level: level)
    try writer.write(bytes)
    try writer.finish()
    return sink.bytes
}

func gunzip(_ source: any ByteSource, chunk: Int = 10_000, backend: InflateBackend = .current) throws -> [UInt8] {
    try readToEnd(try GzipReader(source, backend: backend), chunk: chunk)
}

/// The inflate backends this machine has: ISA-L where libisal.so.2 loads, and zlib.
let backends: [InflateBackend] = InflateBackend.isalAvailable ? [.isal, .zlib] : [.zlib]

@Suite struct GzipTests {
    @Test(arguments: [0, 1, 1000, 300_000], backends)
    func roundTripsAtEveryLevel(size: Int, backend: InflateBackend) throws {
        let data = pattern(size)
        for level in [GzipWriter.Level.fastest, .default, .best] {
            let compressed = try gzip(data, level: level)
            #expect(GzipReader.isGzip(compressed))
            #expect(try gunzip(MemorySource(compressed), backend: backend) == data)
            #expect(try gunzip(TricklingSource(compressed, step: 3), chunk: 7, backend: backend) == data)
        }
    }

    /// Where Debian's libisal2 and libisal-dev are installed, par uses ISA-L: the build found
    /// its header, and the library loads. `PAR_INFLATE=zlib` (how the test script runs the reading tests a
    /// second time) forces zlib.
    @Test func isalIsUsedWhereItIsInstalled() throws {
        let installed = ["/usr/lib/x86_64-linux-gnu/libisal.so.2", "/usr/lib/aarch64-linux-gnu/libisal.so.2", "/usr/lib/libisal.so.2"]
            .contains { FileManager.default.fileExists(atPath: $0) }
            && FileManager.default.fileExists(atPath: "/usr/include/isa-l/igzip_lib.h")
        #expect(InflateBackend.isalAvailable == installed)
        let forced = ProcessInfo.processInfo.environment["PAR_INFLATE"] == "zlib"
        #expect(InflateBackend.current == (installed && !forced ? .isal : .zlib))
        #expect(try GzipReader(MemorySource([])).backend == InflateBackend.current)
    }

    @Test func outputIsDeterministic() throws {
        #expect(try gzip(pattern(5000)) == gzip(pattern(5000)))
    }

    @Test func gzipToolReadsOursAndWeReadGzipTool() throws {
        let data = pattern(200_000)
        let theirs = try ExternalTools.run(["gzip", "-dc"], input: try gzip(data))
        #expect(theirs.status == 0)
        #expect(theirs.outputBytes == data)
        let compressed = try ExternalTools.run(["gzip", "-9c"], input: data)
        #expect(try gunzip(MemorySource(compressed.outputBytes)) == data)
    }

    @Test(arguments: backends)
    func concatenatedMembersReadAsOneStream(backend: InflateBackend) throws {
        let first = pattern(70_000)
        let second = pattern(1234, seed: 9)
        let bytes = try gzip(first) + gzip([]) + gzip(second)
        #expect(try gunzip(MemorySource(bytes), backend: backend) == first + second)
        #expect(try gunzip(TricklingSource(bytes, step: 5), backend: backend) == first + second)
    }

    @Test(arguments: backends)
    func damageIsDetected(backend: InflateBackend) throws {
        let data = pattern(50_000)
        var corrupt = try gzip(data)
        corrupt[corrupt.count / 2] ^= 0xFF
        #expect(throws: GzipError.self) { try gunzip(MemorySource(corrupt), backend: backend) }
        var badCRC = try gzip(data)
        badCRC[badCRC.count - 6] ^= 1
        #expect(throws: GzipError.corrupt("incorrect data check")) { try gunzip(MemorySource(badCRC), backend: backend) }
        var badLength = try gzip(data)
        badLength[badLength.count - 1] ^= 1
        #expect(throws: GzipError.self) { try gunzip(MemorySource(badLength), backend: backend) }
        var badHeader = try gzip(data)
        badHeader[2] = 7
        #expect(throws: GzipError.self) { try gunzip(MemorySource(badHeader), backend: backend) }
    }

    @Test(arguments: backends)
    func truncationIsDetected(backend: InflateBackend) throws {
        let compressed = try gzip(pattern(50_000))
        for cut in [1, 10, compressed.count / 2, compressed.count - 1] {
            #expect(throws: GzipError.truncated) { try gunzip(MemorySource(Array(compressed.prefix(cut))), backend: backend) }
        }
    }

    @Test(arguments: backends)
    func trailingGarbageIsRefused(backend: InflateBackend) throws {
        #expect(throws: GzipError.trailingData) { try gunzip(MemorySource(try gzip([1, 2, 3]) + [0, 0, 0]), backend: backend) }
        #expect(throws: GzipError.self) { try gunzip(MemorySource(try gzip([1, 2, 3]) + [0x1F, 0x00]), backend: backend) }
    }
}

@Suite struct FileStreamTests {
    @Test func atomicFilesAppearOnlyOnCommit() throws {
        let directory = try ExternalTools.temporaryDirectory()
        let destination = directory + "/out.bin"
        do {
            let sink = try AtomicFileSink(destination: destination, mode: 0o755)
            try sink.write([1, 2, 3])
            #expect(!FileManager.default.fileExists(atPath: destination))
            try sink.commit()
        }
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: destination))) == [1, 2, 3])
        let attributes = try FileManager.default.attributesOfItem(atPath: destination)
        #expect((attributes[.posixPermissions] as? Int ?? 0) & 0o100 != 0)
        do {
            let sink = try AtomicFileSink(destination: destination)
            try sink.write([9, 9])
            // Dropped without commit: the old file stays and no temporary file is left.
        }
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: destination))) == [1, 2, 3])
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["out.bin"])
    }

    @Test func missingFoldersAndFilesAreClearErrors() throws {
        #expect(throws: FileError.self) { try AtomicFileSink(destination: "/nonexistent-folder/x") }
        do {
            _ = try FileSource(path: "/nonexistent-file")
            Issue.record("opened a missing file")
        } catch {
            #expect(error.isNotFound)
            #expect(error.description == "cannot open /nonexistent-file: no such file or directory; check the path")
        }
        #expect(throws: FileError(operation: "open", path: "/tmp", code: 21)) { try FileSource(path: "/tmp") }
    }
}

@Suite struct ParallelGzipTests {
    /// Real machine code: the test runner itself.
    func machineCode(_ count: Int) throws -> [UInt8] {
        let source = try FileSource(path: CommandLine.arguments[0])
        return Array((try source.readAll(limit: .max) ?? []).prefix(count))
    }

    func compress(_ data: [UInt8], parallelism: Int, chunk: Int = 100_003, level: GzipWriter.Level = .default) throws -> [UInt8] {
        let sink = MemorySink()
        let writer = try GzipWriter(sink, level: level, parallelism: parallelism)
        var offset = 0
        while offset < data.count {
            let end = min(offset + chunk, data.count)
            try data[offset..<end].withUnsafeBytes { try writer.write($0) }
            offset = end
        }
        try writer.finish()
        return sink.bytes
    }

    @Test func theBytesDoNotDependOnTheNumberOfCores() throws {
        let data = try machineCode(5_300_000)
        let one = try compress(data, parallelism: 1)
        #expect(try compress(data, parallelism: 2, chunk: 7) == one)
        #expect(try compress(data, parallelism: 4, chunk: 1 << 20) == one)
        #expect(try gunzip(MemorySource(one)) == data)
    }

    @Test func multiBlockStreamsAreOneGzipMemberThatGzipReads() throws {
        let data = try machineCode(9_000_000)
        let compressed = try compress(data, parallelism: 3)
        let theirs = try ExternalTools.run(["gzip", "-dc"], input: compressed)
        #expect(theirs.status == 0, "\(theirs.error)")
        #expect(theirs.outputBytes == data)
        let listed = try ExternalTools.run(["python3", "-c", "import gzip,sys; print(len(gzip.decompress(sys.stdin.buffer.read())))"], input: compressed)
        #expect(listed.line == String(data.count))
    }

    @Test func sizeStaysWithinAPercentOfSerialGzip() throws {
        let data = try machineCode(8_000_000)
        let ours = try compress(data, parallelism: 2).count
        let serial = try ExternalTools.run(["gzip", "-6", "-c"], input: data).outputBytes.count
        #expect(Double(ours) <= Double(serial) * 1.01, "ours \(ours), gzip -6 \(serial)")
        let best = try compress(data, parallelism: 2, level: .best).count
        let serialBest = try ExternalTools.run(["gzip", "-9", "-c"], input: data).outputBytes.count
        #expect(Double(best) <= Double(serialBest) * 1.01, "ours \(best), gzip -9 \(serialBest)")
    }

    @Test func exactBlockMultiplesAndEmptyInputEndCleanly() throws {
        for size in [0, GzipWriter.blockSize, 4 * GzipWriter.blockSize, 4 * GzipWriter.blockSize + 1] {
            let data = pattern(size, seed: 3)
            for parallelism in [1, 2] {
                let compressed = try compress(data, parallelism: parallelism, chunk: 65536)
                #expect(try gunzip(MemorySource(compressed)) == data)
                #expect(try ExternalTools.run(["gzip", "-dc"], input: compressed).outputBytes == data)
            }
        }
    }
}
