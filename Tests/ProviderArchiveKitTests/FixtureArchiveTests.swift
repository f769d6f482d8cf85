import PARBytes
import PARClaims
import PARTestSupport
import ProviderArchiveKit
import Testing

/// Loading, verifying and extracting the archives other tools wrote, and refusing the
/// crafted ones, all kept in Tests/Fixtures.
@Suite struct FixtureArchiveTests {
    @Test(arguments: Fixtures.interoperable)
    func everyToolsArchiveVerifiesLoadsAndExtracts(name: String, twoTargets: Bool) throws {
        let path = Fixtures.path(name)
        let expected = twoTargets ? [mac, linux].sorted() : [linux]
        let verified = try ProviderArchive.verify(path: path, requiredTargets: [linux])
        #expect(verified.targets.keys.sorted() == expected)
        #expect(verified.isCompressed == name.hasSuffix(".gz"))
        #expect(verified.targets[linux] == ArchiveEntryInfo(size: 19, hash: sha256(Array("\u{7F}ELF-linux-provider".utf8))))

        let loaded = try ProviderArchive.load(path: path)
        #expect(loaded.binary(for: linux) == Array("\u{7F}ELF-linux-provider".utf8))
        #expect(loaded.binary(for: mac) == (twoTargets ? Array("mach-o-provider".utf8) : nil))
        #expect(try ProviderArchive.claimsWithoutVerifying(from: FileSource(path: path)) == loaded.claims)

        let fixture = try Fixture()
        let report = try ProviderArchive.extract(linux, fromArchiveAt: path, to: fixture.path("linux"))
        #expect(report.claims == loaded.claims)
        #expect(try fixture.read("linux") == Array("\u{7F}ELF-linux-provider".utf8))
    }

    @Test func parchecksArchiveKeepsItsWorldAndSchema() throws {
        let loaded = try ProviderArchive.load(path: Fixtures.path("parcheck.par"))
        #expect(loaded.world == [0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00])
        #expect(loaded.claims.metadata.configSchema?["type"] == .string("object"))
        #expect(loaded.claims.metadata.revision == 1)
        #expect(loaded.claims.metadata.version == "0.1.0")
    }

    @Test(arguments: Fixtures.numberTraps)
    func craftedNumbersAreTarErrorsForEveryReader(name: String) throws {
        let bytes = try Fixtures.bytes(name)
        for selection in [TargetSelection.all, .only(linux)] {
            guard case .tar? = archiveError({ _ = try ProviderArchive.load(bytes: bytes, selection: selection) }) else {
                Issue.record("\(name): load(\(selection)) must fail with a tar error")
                continue
            }
        }
        guard case .tar? = archiveError({ _ = try ProviderArchive.verify(from: MemorySource(bytes)) }) else {
            Issue.record("\(name): verify must fail with a tar error")
            return
        }
        guard case .tar? = archiveError({ _ = try ProviderArchive.claimsWithoutVerifying(from: MemorySource(bytes)) }) else {
            Issue.record("\(name): the unverified claims reader must fail with a tar error")
            return
        }
    }

    @Test func theBombHasNoClaimsAndIsRefusedAsSuch() throws {
        let path = Fixtures.path("bomb-no-claims.par.gz")
        #expect(archiveError({ _ = try ProviderArchive.verify(path: path) }) == .missingClaims)
        #expect(archiveError({ _ = try ProviderArchive.load(path: path) }) == .missingClaims)
        #expect(archiveError({ _ = try ProviderArchive.claimsWithoutVerifying(from: FileSource(path: path)) }) == .missingClaims)
    }
}
