import Foundation
import PARTestSupport
import PARBytes
import PARClaims
import PARContainer
import PARNKeys
import ProviderArchiveKit
import Testing

/// Archives made to crash or balloon a reader get a typed error, before any signature check
/// where they break the container, with bounded memory where they do not.
@Suite struct HostileArchiveTests {
    let fixture: Fixture

    init() throws {
        fixture = try Fixture()
    }

    @Test func targetsAreValidatedOnBytes() {
        #expect(throws: ClaimsError.invalidTargetName("x\u{0301}86_64-linux")) { try Target("x\u{0301}86_64-linux") }
        #expect(throws: ClaimsError.self) { try Target("ｘ86_64-linux") }
        #expect(throws: ClaimsError.self) { try Target(String(repeating: "a", count: 30) + "-" + String(repeating: "é", count: 17)) }
        let bytes = rawEntry(name: "x\u{0301}86_64-linux.bin", content: [1]) + endOfArchive
        #expect(archiveError { _ = try ProviderArchive.verify(from: MemorySource(bytes)) } == .unexpectedEntry("x\u{0301}86_64-linux.bin"))
    }

    @Test func moreEntriesThanAnyProviderNeedsAreRefused() throws {
        var bytes: [UInt8] = []
        var index = 0
        for a in "abcdefghijklmnopqrstuvwxyz" {
            for b in "abcdefghijklmnopqrstuvwxyz" {
                for c in "ab" {
                    bytes += rawEntry(name: "x\(a)\(b)\(c)-linux.bin", content: [])
                    index += 1
                }
            }
        }
        #expect(index > 1024)
        #expect(archiveError { _ = try ProviderArchive.load(bytes: bytes + endOfArchive) } == .tooManyEntries(limit: 1024))
    }

    /// A load keeps at most 64 MiB of binaries before claims.jwt is verified; verify and
    /// extract, which keep nothing, still read such archives.
    @Test func binariesBeforeTheClaimsAreKeptOnlyUpToALimit() throws {
        let size = 65 << 20
        let block = [UInt8](repeating: 0x5A, count: 1 << 20)
        let token = try fixture.token(hashes: [linux: [UInt8](repeating: 0x5A, count: size)])
        let head = rawHeader(name: "x86_64-linux.bin", size: size)
        let tail = MemorySink()
        let tailWriter = TarWriter(tail)
        try tailWriter.addFile(name: "claims.jwt", contents: Array(token.utf8), mode: 0o644)
        try tailWriter.finish()
        let archive = { BoundedMemoryTests.GeneratedArchive(prefix: head, block: block, size: size, suffix: tail.bytes) }

        #expect(archiveError { _ = try ProviderArchive.load(from: archive()) } == .claimsTooLate(limit: 64 << 20))
        #expect(archiveError { _ = try ProviderArchive.load(from: archive(), selection: .only(linux)) } == .claimsTooLate(limit: 64 << 20))
        #expect(try ProviderArchive.verify(from: archive()).targets[linux]?.size == UInt64(size))
        #expect(archiveError { _ = try ProviderArchive.extract(linux, from: archive(), to: fixture.path("out")) } == nil)
        #expect(try FileManager.default.attributesOfItem(atPath: fixture.path("out"))[.size] as? Int == size)
    }
}
