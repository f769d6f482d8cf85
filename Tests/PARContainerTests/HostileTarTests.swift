import Foundation
import PARBytes
import PARTestSupport
import Testing

@testable import PARContainer

/// Numbers read from an archive never reach arithmetic unchecked: each edge case is an error.
@Suite struct HostileTarTests {
    func readAll(_ bytes: [UInt8]) throws {
        let reader = TarReader(MemorySource(bytes))
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 16)
        defer { chunk.deallocate() }
        while try reader.nextEntry() != nil {
            while try reader.readContent(into: chunk) > 0 {}
        }
    }

    @Test func aPaxLengthNear2To63IsAMalformedRecord() {
        #expect(throws: TarError.invalidExtendedHeader("a malformed pax record", headerOffset: 0)) {
            try readAll(CraftedTar.paxLengthOverflow)
        }
        for length in ["18446744073709551615", "99999999999999999999999", "-5", "+30", "0", " 30"] {
            let record = Array("\(length) path=a\n".utf8)
            #expect(throws: TarError.self) {
                try readAll(CraftedTar.entry(name: "x", content: record, type: UInt8(ascii: "x")) + CraftedTar.end)
            }
        }
    }

    @Test func sizesPast2To63AreRefused() {
        #expect(throws: TarError.invalidNumber(field: "size", headerOffset: 0)) { try readAll(CraftedTar.base256SizeOverflow) }
        #expect(throws: TarError.invalidExtendedHeader("the size is not a number up to 2^63-1", headerOffset: 1024)) {
            try readAll(CraftedTar.paxSizeOverflow)
        }
        // 2^63 - 1 itself is a size, whose content is then simply missing.
        let largest = CraftedTar.header(name: "a", size: [0x80, 0, 0, 0, 0x7F] + [UInt8](repeating: 0xFF, count: 7)) + CraftedTar.end
        #expect(throws: TarError.truncated) { try readAll(largest) }
    }

    @Test func extendedHeadersForOneEntryAreBoundedInTotal() {
        var bytes: [UInt8] = []
        let record = Array("524280 comment=\(String(repeating: "x", count: 524_280 - 16))\n".utf8)
        for _ in 0..<3 { bytes += CraftedTar.entry(name: "PaxHeaders/x", content: record, type: UInt8(ascii: "x")) }
        #expect(record.count == 524_280)
        #expect(throws: TarError.invalidExtendedHeader("extended headers of more than 1048576 bytes for one entry", headerOffset: 1_049_600)) {
            try readAll(bytes + CraftedTar.entry(name: "a", content: [1]) + CraftedTar.end)
        }
    }

    @Test func aChecksumFieldInBase256DoesNotTrap() {
        var header = CraftedTar.header(name: "a")
        header.replaceSubrange(148..<156, with: [0x80] + [UInt8](repeating: 0xFF, count: 7))
        #expect(throws: TarError.badChecksum(headerOffset: 0)) { try readAll(header + CraftedTar.end) }
    }

    /// zlib refuses a memLevel of 0; the failed start must free its stream once, not twice
    /// (a double free aborts the process under glibc).
    @Test func aDeflaterThatFailsToStartFreesItsStreamOnce() {
        for _ in 0..<100 {
            #expect(throws: GzipError.self) { _ = try BlockDeflater(level: 6, memoryLevel: 0) }
        }
    }
}
