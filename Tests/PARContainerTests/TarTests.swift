import Foundation
import PARBytes
import PARTestSupport
import Testing

@testable import PARContainer

/// A source that hands out at most `step` bytes per read, to exercise every buffer boundary.
final class TricklingSource: ByteSource {
    private let bytes: [UInt8]
    private var position = 0
    private let step: Int

    init(_ bytes: [UInt8], step: Int) {
        self.bytes = bytes
        self.step = step
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = min(step, buffer.count, bytes.count - position)
        guard count > 0 else { return 0 }
        bytes.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[position..<position + count])) }
        position += count
        return count
    }
}

struct ReadEntry: Equatable {
    var name: String
    var kind: TarEntry.Kind
    var content: [UInt8]
}

func readAllEntries(_ source: any ByteSource) throws -> [ReadEntry] {
    let reader = TarReader(source)
    var entries: [ReadEntry] = []
    var chunk = [UInt8](repeating: 0, count: 1000)
    while let entry = try reader.nextEntry() {
        var content: [UInt8] = []
        while true {
            let count = try chunk.withUnsafeMutableBytes { try reader.readContent(into: $0) }
            if count == 0 { break }
            content += chunk[..<count]
        }
        #expect(UInt64(content.count) == entry.size)
        entries.append(ReadEntry(name: entry.name, kind: entry.kind, content: content))
    }
    return entries
}

/// A 512-byte header with a valid checksum, for crafting archives our writer would not make.
func craftedHeader(name: String, size: String = "00000000000", type: UInt8 = UInt8(ascii: "0"), magic: [UInt8] = Array("ustar\u{0}00".utf8), linkName: String = "") -> [UInt8] {
    CraftedTar.header(name: name, size: Array(size.utf8), type: type, magic: magic, linkName: linkName)
}

func withChecksum(_ block: [UInt8]) -> [UInt8] {
    CraftedTar.withChecksum(block)
}

@Suite struct TarWriterTests {
    @Test(arguments: [0, 1, 511, 512, 513, 1024, 100_000])
    func writtenEntriesReadBack(size: Int) throws {
        let files = [("claims.jwt", pattern(37)), ("x86_64-linux.bin", pattern(size, seed: 3)), ("empty", [UInt8]())]
        let bytes = try makeTar(files)
        #expect(bytes.count % 512 == 0)
        #expect(bytes.suffix(1024).allSatisfy { $0 == 0 })
        for step in [1, 7, 512, 4096, 1 << 20] {
            let entries = try readAllEntries(TricklingSource(bytes, step: step))
            #expect(entries == files.map { ReadEntry(name: $0.0, kind: .regularFile, content: $0.1) })
        }
    }

    @Test func headersAreDeterministicUstar() throws {
        let bytes = try makeTar([("claims.jwt", Array("abc".utf8))])
        let header = Array(bytes[0..<512])
        #expect(Array(header[257..<265]) == Array("ustar\u{0}00".utf8))
        #expect(String(decoding: header[100..<107], as: UTF8.self) == "0000644")
        #expect(String(decoding: header[124..<135], as: UTF8.self) == "00000000003")
        #expect(String(decoding: header[136..<147], as: UTF8.self) == "00000000000")
        #expect(header[156] == UInt8(ascii: "0"))
        #expect(header[154] == 0 && header[155] == 0x20)
        #expect(try makeTar([("claims.jwt", Array("abc".utf8))]) == bytes)
        #expect(bytes.count == 512 + 512 + 1024)
    }

    @Test func gnuTarAndPythonListWhatWeWrite() throws {
        let directory = try ExternalTools.temporaryDirectory()
        let path = directory + "/ours.tar"
        let bytes = try makeTar([("claims.jwt", pattern(10)), ("x86_64-linux.bin", pattern(70_000))])
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let listing = try ExternalTools.run(["tar", "-tvf", path])
        #expect(listing.status == 0, "\(listing.error)")
        #expect(listing.output.contains("claims.jwt"))
        #expect(listing.output.contains("70000"))
        let python = try ExternalTools.run([
            "python3", "-c", "import tarfile,sys; t=tarfile.open(sys.argv[1]); print(' '.join(f'{m.name}:{m.size}:{oct(m.mode)}' for m in t))", path,
        ])
        #expect(python.line == "claims.jwt:10:0o644 x86_64-linux.bin:70000:0o644")
    }

    @Test func misuseAndSizeMismatchesAreErrors() throws {
        let writer = TarWriter(MemorySink())
        #expect(throws: TarError.self) { try writer.writeContent(UnsafeRawBufferPointer(start: nil, count: 0)) }
        try writer.beginFile(name: "a", size: 2, mode: 0o644)
        #expect(throws: TarError.sizeMismatch(name: "a", declared: 2, written: 3)) { try [UInt8](repeating: 1, count: 3).withUnsafeBytes { try writer.writeContent($0) } }
        try [UInt8](repeating: 1, count: 1).withUnsafeBytes { try writer.writeContent($0) }
        #expect(throws: TarError.sizeMismatch(name: "a", declared: 2, written: 1)) { try writer.finish() }
        #expect(throws: TarError.nameTooLong(String(repeating: "n", count: 101))) {
            try TarWriter(MemorySink()).beginFile(name: String(repeating: "n", count: 101), size: 0, mode: 0)
        }
    }

    @Test func hugeSizesUseBase256() throws {
        var header = [UInt8](repeating: 0, count: 512)
        TarHeader.writeNumber(1 << 40, into: &header, TarHeader.size)
        #expect(header[124] == 0x80)
        header.withUnsafeBytes { #expect(TarHeader.number($0, TarHeader.size) == 1 << 40) }
    }
}

@Suite struct TarReaderFormatTests {
    /// Archives made by GNU tar in every format it writes, from a folder with a long name too.
    @Test(arguments: ["ustar", "gnu", "pax", "v7", "oldgnu", "posix"])
    func gnuTarArchivesRead(format: String) throws {
        let directory = try ExternalTools.temporaryDirectory()
        let content = pattern(3000)
        try Data(content).write(to: URL(fileURLWithPath: directory + "/x86_64-linux.bin"))
        try Data("token".utf8).write(to: URL(fileURLWithPath: directory + "/claims.jwt"))
        let result = try ExternalTools.run(
            ["tar", "--format=\(format)", "-C", directory, "-cf", directory + "/a.tar", "claims.jwt", "x86_64-linux.bin"])
        #expect(result.status == 0, "\(result.error)")
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/a.tar")))
        #expect(bytes.count % 10240 == 0)  // GNU tar pads to a record: zeros after the end marker
        let entries = try readAllEntries(MemorySource(bytes))
        #expect(entries == [
            ReadEntry(name: "claims.jwt", kind: .regularFile, content: Array("token".utf8)),
            ReadEntry(name: "x86_64-linux.bin", kind: .regularFile, content: content),
        ])
    }

    @Test(arguments: ["gnu", "pax"])
    func longNamesRead(format: String) throws {
        let directory = try ExternalTools.temporaryDirectory()
        let long = String(repeating: "long-name-", count: 15) + ".bin"
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: directory + "/" + long))
        let result = try ExternalTools.run(["tar", "--format=\(format)", "-C", directory, "-cf", directory + "/a.tar", long])
        #expect(result.status == 0)
        let entries = try readAllEntries(MemorySource(Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/a.tar")))))
        #expect(entries == [ReadEntry(name: long, kind: .regularFile, content: [1, 2, 3])])
    }

    @Test(arguments: ["USTAR_FORMAT", "GNU_FORMAT", "PAX_FORMAT"])
    func pythonTarfileArchivesRead(format: String) throws {
        let script = """
            import tarfile, io, sys
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w", format=tarfile.\(format)) as t:
                for name, data in (("claims.jwt", b"jwt"), ("aarch64-macos.bin", bytes(range(256)) * 9)):
                    info = tarfile.TarInfo(name); info.size = len(data); info.mode = 0o755
                    t.addfile(info, io.BytesIO(data))
            sys.stdout.buffer.write(buf.getvalue())
            """
        let result = try ExternalTools.run(["python3", "-c", script])
        #expect(result.status == 0, "\(result.error)")
        let entries = try readAllEntries(MemorySource(result.outputBytes))
        #expect(entries.map(\.name) == ["claims.jwt", "aarch64-macos.bin"])
        #expect(entries[1].content == Array((0..<9).flatMap { _ in (0...255).map { UInt8($0) } }))
    }

    @Test func referenceStyleGnuHeadersRead() throws {
        // What tar-rs writes: GNU magic, type NUL, mode/uid/gid all NUL, 7-digit checksum + NUL.
        var header = [UInt8](repeating: 0, count: 512)
        header.replaceSubrange(0..<10, with: Array("claims.jwt".utf8))
        header.replaceSubrange(124..<136, with: Array("00000000003\u{0}".utf8))
        header.replaceSubrange(136..<148, with: Array("00000000000\u{0}".utf8))
        header.replaceSubrange(257..<265, with: Array("ustar  \u{0}".utf8))
        header.replaceSubrange(148..<156, with: [UInt8](repeating: 0x20, count: 8))
        let sum = header.reduce(0) { $0 + Int($1) }
        header.replaceSubrange(148..<156, with: Array(String(format: "%07o", sum).utf8) + [0])
        let bytes = header + Array("abc".utf8) + [UInt8](repeating: 0, count: 509 + 1024)
        #expect(try readAllEntries(MemorySource(bytes)) == [ReadEntry(name: "claims.jwt", kind: .regularFile, content: Array("abc".utf8))])
    }

    @Test func entryKindsAreReported() throws {
        let bytes = craftedHeader(name: "link", type: UInt8(ascii: "2"), linkName: "/etc/passwd")
            + craftedHeader(name: "dir/", type: UInt8(ascii: "5"))
            + craftedHeader(name: "hard", type: UInt8(ascii: "1"), linkName: "x")
            + craftedHeader(name: "dev", type: UInt8(ascii: "3"))
            + craftedHeader(name: "old-dir/", type: 0)
            + [UInt8](repeating: 0, count: 1024)
        let reader = TarReader(MemorySource(bytes))
        var kinds: [TarEntry.Kind] = []
        while let entry = try reader.nextEntry() { kinds.append(entry.kind) }
        #expect(kinds == [.symbolicLink, .directory, .hardLink, .characterDevice, .directory])
    }

    @Test func endOfStreamWithoutMarkerIsAccepted() throws {
        let bytes = Array(try makeTar([("a", [1])]).dropLast(1024))
        #expect(try readAllEntries(MemorySource(bytes)).count == 1)
        // A lone zero block is accepted too.
        #expect(try readAllEntries(MemorySource(bytes + [UInt8](repeating: 0, count: 512))).count == 1)
    }
}

@Suite struct TarReaderRejectionTests {
    @Test func aDamagedHeaderFailsItsChecksum() throws {
        var bytes = try makeTar([("claims.jwt", [1, 2, 3])])
        bytes[3] ^= 0x20
        #expect(throws: TarError.badChecksum(headerOffset: 0)) { try readAllEntries(MemorySource(bytes)) }
    }

    @Test func truncationIsReported() throws {
        let bytes = try makeTar([("a", pattern(2000))])
        for cut in [100, 512 + 10, 512 + 1999] {
            #expect(throws: TarError.truncated) { try readAllEntries(MemorySource(Array(bytes.prefix(cut)))) }
        }
    }

    @Test func dataAfterTheEndMarkerIsRefused() throws {
        let bytes = try makeTar([("a", [1])]) + [0, 0, 7]
        #expect(throws: TarError.trailingData(offset: 2048 + 2)) { try readAllEntries(MemorySource(bytes)) }
    }

    @Test func unknownMagicIsRefused() {
        let bytes = craftedHeader(name: "a", magic: Array("zip!\u{0}\u{0}".utf8)) + [UInt8](repeating: 0, count: 1024)
        #expect(throws: TarError.unknownFormat(headerOffset: 0)) { try readAllEntries(MemorySource(bytes)) }
    }

    @Test(arguments: ["0000000009z", "-0000000001", "00000 00001"])
    func invalidSizeFieldsAreRefused(size: String) {
        let bytes = craftedHeader(name: "a", size: size) + [UInt8](repeating: 0, count: 1024)
        #expect(throws: TarError.invalidNumber(field: "size", headerOffset: 0)) { try readAllEntries(MemorySource(bytes)) }
    }

    @Test func negativeBase256SizesAreRefused() {
        var header = craftedHeader(name: "a")
        header.replaceSubrange(124..<136, with: [0xFF] + [UInt8](repeating: 0xFF, count: 11))
        let bytes = withChecksum(header) + [UInt8](repeating: 0, count: 1024)
        #expect(throws: TarError.invalidNumber(field: "size", headerOffset: 0)) { try readAllEntries(MemorySource(bytes)) }
    }

    @Test func oversizedAndMalformedExtendedHeadersAreRefused() {
        let huge = craftedHeader(name: "pax", size: String(format: "%011o", TarReader.maximumExtendedHeaderSize + 1), type: UInt8(ascii: "x"))
        #expect(throws: TarError.self) { try readAllEntries(MemorySource(huge + [UInt8](repeating: 0, count: 4096))) }
        let record = Array("99 path=x\n".utf8)
        let malformed = craftedHeader(name: "pax", size: String(format: "%011o", record.count), type: UInt8(ascii: "x"))
            + record + [UInt8](repeating: 0, count: 512 - record.count) + craftedHeader(name: "a") + [UInt8](repeating: 0, count: 1024)
        #expect(throws: TarError.invalidExtendedHeader("a malformed pax record", headerOffset: 0)) { try readAllEntries(MemorySource(malformed)) }
    }

    @Test func aPaxHeaderAtTheEndIsTruncation() {
        let record = Array("11 path=ab\n".utf8)
        let bytes = craftedHeader(name: "pax", size: String(format: "%011o", record.count), type: UInt8(ascii: "x"))
            + record + [UInt8](repeating: 0, count: 512 - record.count)
        #expect(throws: TarError.truncated) { try readAllEntries(MemorySource(bytes)) }
    }
}
