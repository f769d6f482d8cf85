import PARBytes
import PARTestSupport
import Testing

@testable import PARContainer

/// The tar reader on the archives other tools wrote (GNU tar, Python's tarfile, parcheck on
/// tar-rs's shape) and on the crafted ones, all kept in Tests/Fixtures.
@Suite struct FixtureTarTests {
    /// The stream inside a fixture: gunzipped when it is `.gz`.
    func tarStream(_ name: String) throws -> any ByteSource {
        let file = MemorySource(try Fixtures.bytes(name))
        return name.hasSuffix(".gz") ? try GzipReader(file) : file
    }

    @Test(arguments: Fixtures.interoperable.map(\.name))
    func everyToolsArchiveReadsWithItsEntriesWhole(name: String) throws {
        let entries = try readAllEntries(try tarStream(name))
        var files: [String: [UInt8]] = [:]
        for entry in entries {
            let bare = entry.name.hasPrefix("./") ? String(entry.name.dropFirst(2)) : entry.name
            if entry.kind == .directory {
                #expect(bare == "" || bare == ".", "\(name): only the ./ folder may be a folder")
                continue
            }
            #expect(entry.kind == .regularFile, "\(name): \(entry.name) is \(entry.kind)")
            files[bare] = entry.content
        }
        #expect(files["x86_64-linux.bin"] == Array("\u{7F}ELF-linux-provider".utf8), "\(name)")
        let twoTargets = Fixtures.interoperable.first { $0.name == name }?.twoTargets == true
        #expect(files["aarch64-macos.bin"] == (twoTargets ? Array("mach-o-provider".utf8) : nil), "\(name)")
        #expect(files["claims.jwt"]?.starts(with: Array("eyJ0eXAiOiJqd3Qi".utf8)) == true, "\(name): claims.jwt")
    }

    @Test(arguments: Fixtures.numberTraps)
    func craftedNumbersAreTarErrors(name: String) throws {
        #expect(throws: TarError.self) { _ = try readAllEntries(try tarStream(name)) }
    }

    @Test func theBombIsOneMegabyteOfZerosThatStreamsThrough() throws {
        let entries = try readAllEntries(try tarStream("bomb-no-claims.par.gz"))
        #expect(entries.map(\.name) == ["x86_64-linux.bin"])
        #expect(entries.first?.content == [UInt8](repeating: 0, count: 1 << 20))
    }

    @Test func everyFixtureIsReadByATest() throws {
        let covered = Set(Fixtures.interoperable.map(\.name) + Fixtures.numberTraps + ["bomb-no-claims.par.gz"])
        #expect(Set(try Fixtures.all()) == covered)
    }
}
