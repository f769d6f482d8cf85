import Foundation
import PARTestSupport
import PARBytes
import ProviderArchiveKit
import Testing

/// world.wasm: what may be given as one, and a load that keeps it alone.
@Suite struct WorldTests {
    static let component = WorldEncoding.componentPreamble + pattern(500, seed: 9)

    @Test func worldsAreToldByTheirPreamble() {
        #expect(WorldEncoding(of: Self.component) == .component)
        #expect(WorldEncoding(of: WorldEncoding.componentPreamble) == .component)
        #expect(WorldEncoding(of: [0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00] + pattern(10)) == .coreModule)
        #expect(WorldEncoding(of: [0x00, 0x61, 0x73, 0x6D, 0x0D, 0x00, 0x02, 0x00]) == .notWebAssembly)
        #expect(WorldEncoding(of: Array(WorldEncoding.componentPreamble.prefix(7))) == .notWebAssembly)
        #expect(WorldEncoding(of: []) == .notWebAssembly)
        #expect(WorldEncoding(of: Array("package a:b;".utf8)) == .notWebAssembly)
    }

    @Test func setWorldTakesOnlyAComponent() throws {
        var builder = ProviderArchiveBuilder(name: "p", vendor: "v")
        let core: [UInt8] = [0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00]
        #expect(throws: ProviderArchiveError.worldNotAComponent(.coreModule)) { try builder.setWorld(core) }
        #expect(throws: ProviderArchiveError.worldNotAComponent(.notWebAssembly)) { try builder.setWorld(pattern(100)) }
        #expect(builder.world == nil)
        try builder.setWorld(Self.component)
        #expect(builder.world == Self.component)
        #expect(
            ProviderArchiveError.worldNotAComponent(.coreModule).description
                == #"a WIT world must be a WebAssembly component (starting \0asm 0d 00 01 00); these bytes are a core WebAssembly module, not a component"#)
    }

    /// `.worldOnly` keeps world.wasm and no binary, and still checks every one, full archive or slice.
    @Test func aWorldOnlyLoadKeepsTheWorldAndChecksEverything() throws {
        let fixture = try Fixture()
        var builder = ProviderArchiveBuilder(name: "p", vendor: "v")
        builder.addBinary(pattern(100_000), for: linux)
        builder.addBinary(pattern(3000, seed: 2), for: mac)
        try builder.setWorld(Self.component)
        let path = try #require(try builder.write(to: fixture.path("w.par"), issuer: fixture.account, subject: fixture.service, compression: .gzip).path)
        let loaded = try ProviderArchive.load(path: path, selection: .worldOnly)
        #expect(loaded.world == Self.component)
        #expect(loaded.binary(for: linux) == nil && loaded.binary(for: mac) == nil)
        #expect(loaded.verified.targets.count == 2)

        let verified = try ProviderArchive.verify(path: path)
        let sink = MemorySink()
        _ = try ProviderArchive.writeSlice(linux, ofArchiveAt: path, verified: verified, to: sink)
        let slice = try ProviderArchive.load(bytes: sink.bytes, selection: .worldOnly)
        #expect(slice.world == Self.component && slice.verified.targets.keys.sorted() == [linux])

        var plain = ProviderArchiveBuilder(name: "p", vendor: "v")
        plain.addBinary(pattern(10), for: linux)
        let none = try #require(try plain.write(to: fixture.path("n.par"), issuer: fixture.account, subject: fixture.service).path)
        #expect(try ProviderArchive.load(path: none, selection: .worldOnly).world == nil)
    }
}
