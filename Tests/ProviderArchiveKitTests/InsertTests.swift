import Foundation
import PARTestSupport
import PARBytes
import PARClaims
import PARContainer
import PARNKeys
import ProviderArchiveKit
import Testing

/// `ProviderArchive.insert`: a streaming, locked rewrite that keeps everything else.
@Suite struct InsertTests {
    let fixture: Fixture

    init() throws {
        fixture = try Fixture()
    }

    func archive(compression: ArchiveCompression = .none) throws -> String {
        var builder = ProviderArchiveBuilder(name: "Insert", vendor: "tests", revision: 2, version: "1.0.0")
        builder.addBinary(pattern(70_000), for: linux)
        builder.world = pattern(300, seed: 3)
        builder.configSchema = .object([("type", .string("object"))])
        return try #require(
            try builder.write(to: fixture.path("a.par"), issuer: fixture.account, subject: fixture.service, compression: compression).path)
    }

    func keys(_ claims: ProviderClaims) -> (issuer: NKeyPair, subject: NKeyPair) {
        (fixture.account, fixture.service)
    }

    func files() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: fixture.directory).sorted()
    }

    @Test(arguments: [ArchiveCompression.none, .gzip])
    func addingATargetKeepsEverythingElse(compression: ArchiveCompression) throws {
        let path = try archive(compression: compression)
        let before = try ProviderArchive.load(path: path)
        let binary = try fixture.write(pattern(40_000, seed: 7), to: "mac")
        let written = try ProviderArchive.insert(binaryAt: binary, for: mac, intoArchiveAt: path, signingKeys: keys)
        #expect(written.path == path)
        #expect(written.targets.keys.sorted() == [mac, linux])

        let after = try ProviderArchive.load(path: path)
        #expect(after.isCompressed == before.isCompressed)
        #expect(after.targets == [mac, linux])
        #expect(after.binary(for: mac) == pattern(40_000, seed: 7))
        #expect(after.binary(for: linux) == pattern(70_000))
        #expect(after.world == pattern(300, seed: 3))
        let old = before.claims.metadata
        let new = after.claims.metadata
        #expect((new.name, new.vendor, new.revision, new.version) == (old.name, old.vendor, old.revision, old.version))
        #expect(new.configSchema == old.configSchema)
        #expect(new.worldHash == old.worldHash)
        #expect(after.claims.subject == fixture.service.publicKey)
        #expect(after.claims.id != before.claims.id)
        #expect(try files() == ["a.par" + (compression == .none ? "" : ".gz"), "mac"])
    }

    @Test func replacingATargetDropsTheOldBinary() throws {
        let path = try archive()
        let binary = try fixture.write(pattern(10, seed: 4), to: "new-linux")
        try ProviderArchive.insert(binaryAt: binary, for: linux, intoArchiveAt: path, signingKeys: keys)
        let after = try ProviderArchive.load(path: path)
        #expect(after.targets == [linux])
        #expect(after.binary(for: linux) == pattern(10, seed: 4))
    }

    @Test func anArchiveWithClaimsLastIsRewrittenWithClaimsFirst() throws {
        let token = try fixture.token(hashes: [linux: pattern(2000)])
        let path = try fixture.write(try fixture.tar([("x86_64-linux.bin", pattern(2000)), ("claims.jwt", Array(token.utf8))]), to: "late.par")
        let binary = try fixture.write(pattern(50, seed: 2), to: "mac")
        try ProviderArchive.insert(binaryAt: binary, for: mac, intoArchiveAt: path, signingKeys: keys)
        let reader = TarReader(try FileSource(path: path))
        #expect(try reader.nextEntry()?.name == "claims.jwt")
        #expect(try ProviderArchive.load(path: path).targets == [mac, linux])
    }

    @Test func aTamperedArchiveIsLeftAsItWas() throws {
        let path = try archive()
        var bytes = try fixture.read("a.par")
        // A byte inside the linux binary (after the claims and world entries).
        bytes[bytes.count - 1024 - 600] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let binary = try fixture.write(pattern(50), to: "mac")
        #expect(throws: ProviderArchiveError.self) {
            try ProviderArchive.insert(binaryAt: binary, for: mac, intoArchiveAt: path, signingKeys: keys)
        }
        #expect(try fixture.read("a.par") == bytes)
        #expect(try files() == ["a.par", "mac"])
    }

    @Test func theKeyLookupSeesTheOldClaimsAndItsErrorsComeThrough() throws {
        struct NoKey: Error, Equatable {}
        let path = try archive()
        let binary = try fixture.write(pattern(50), to: "mac")
        var seen: ProviderClaims?
        #expect(throws: NoKey()) {
            try ProviderArchive.insert(binaryAt: binary, for: mac, intoArchiveAt: path) { claims in
                seen = claims
                throw NoKey()
            }
        }
        #expect(seen?.subject == fixture.service.publicKey)
        #expect(try files() == ["a.par", "mac"])
    }

    @Test func aSymbolicLinkIsFollowedAndStays() throws {
        let path = try archive()
        try FileManager.default.createSymbolicLink(atPath: fixture.path("link.par"), withDestinationPath: "a.par")
        let binary = try fixture.write(pattern(50), to: "mac")
        try ProviderArchive.insert(binaryAt: binary, for: mac, intoArchiveAt: fixture.path("link.par"), signingKeys: keys)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: fixture.path("link.par")) == "a.par")
        #expect(try ProviderArchive.load(path: path).targets == [mac, linux])
    }

    @Test func modeOwnerAndGroupAreKept() throws {
        let path = try archive()
        #expect(chmod(path, 0o640) == 0)
        // Root may give files away; elsewhere the owner stays the caller, and that is checked.
        let owner: uid_t = getuid() == 0 ? 4321 : getuid()
        let group: gid_t = getuid() == 0 ? 8765 : getgid()
        #expect(chown(path, owner, group) == 0)
        let binary = try fixture.write(pattern(50), to: "mac")
        try ProviderArchive.insert(binaryAt: binary, for: mac, intoArchiveAt: path, signingKeys: keys)
        var status = stat()
        #expect(stat(path, &status) == 0)
        #expect(status.st_mode & 0o7777 == 0o640)
        #expect(status.st_uid == owner)
        #expect(status.st_gid == group)
    }

    @Test func insertingTheArchiveIntoItselfIsRefused() throws {
        let path = try archive()
        let before = try fixture.read("a.par")
        #expect(throws: ProviderArchiveError.destinationIsInput(path)) {
            try ProviderArchive.insert(binaryAt: path, for: mac, intoArchiveAt: path, signingKeys: keys)
        }
        #expect(try fixture.read("a.par") == before)
    }

    /// Everything a sequence of inserts writes loads and verifies, with every target inserted.
    @Test func everyInsertedArchiveLoadsAndVerifies() throws {
        var random = SplitMix64(seed: 0x1A5E)
        let path = try archive(compression: .gzip)
        var expected: [Target: [UInt8]] = [linux: pattern(70_000)]
        for round in 0..<40 {
            let target = random.target()
            let bytes = random.bytes(count: Int(random.next() % 3000))
            let binary = try fixture.write(bytes, to: "bin-\(round)")
            try ProviderArchive.insert(binaryAt: binary, for: target, intoArchiveAt: path, signingKeys: keys)
            expected[target] = bytes
            let loaded = try ProviderArchive.load(path: path)
            #expect(loaded.targets == expected.keys.sorted())
            #expect(loaded.binary(for: target) == bytes)
        }
        let final = try ProviderArchive.load(path: path)
        for (target, bytes) in expected { #expect(final.binary(for: target) == bytes) }
    }
}
