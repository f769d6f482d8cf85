import Foundation
import PARTestSupport
import PARBytes
import PARClaims
import PARContainer
import PARNKeys
import ProviderArchiveKit
import Testing

@Suite struct RoundTripTests {
    @Test(arguments: [ArchiveCompression.none, .gzip, .gzip(.best)])
    func writeThenLoadKeepsEverything(compression: ArchiveCompression) throws {
        let fixture = try Fixture()
        var archive = ProviderArchiveBuilder(name: "HTTP Server", vendor: "acme", revision: 3, version: "0.23.0")
        archive.addBinary(pattern(100_000), for: linux)
        archive.addBinary(pattern(5000, seed: 2), for: mac)
        archive.configSchema = try JSONValue(parsing: Array(#"{"type":"object","properties":{"port":{"type":"integer","default":8080}}}"#.utf8))
        archive.world = pattern(777, seed: 5)
        let written = try archive.write(to: fixture.path("http.par"), issuer: fixture.account, subject: fixture.service, compression: compression)
        let path = try #require(written.path)
        #expect(path == fixture.path(compression == .none ? "http.par" : "http.par.gz"))
        #expect(written.compression == compression)
        #expect(written.targets[linux] == ArchiveEntryInfo(size: 100_000, hash: sha256(pattern(100_000))))

        // A loaded archive has its claims, token and compression: no optionals to unwrap.
        let loaded = try ProviderArchive.load(path: path)
        let metadata = loaded.claims.metadata
        #expect(metadata.name == "HTTP Server")
        #expect(metadata.vendor == "acme")
        #expect(metadata.revision == 3)
        #expect(metadata.version == "0.23.0")
        #expect(loaded.targets == [mac, linux])
        #expect(loaded.selection == .all)
        #expect(loaded.isCompressed == (compression != .none))
        #expect(loaded.binary(for: linux) == pattern(100_000))
        #expect(loaded.binary(for: mac) == pattern(5000, seed: 2))
        #expect(metadata.configSchema == archive.configSchema)
        #expect(loaded.world == pattern(777, seed: 5))
        #expect(loaded.token == written.token)
        #expect(loaded.verified.targets[mac] == written.targets[mac])
        #expect(loaded.verified.world == written.world)
        #expect(loaded.claims.issuer == fixture.account.publicKey)
        #expect(loaded.claims.subject == fixture.service.publicKey)
        #expect(metadata.targetHashes[linux] == sha256(pattern(100_000)))
    }

    @Test func minimalArchivesRoundTripWithoutSchemaOrWorld() throws {
        let fixture = try Fixture()
        var archive = ProviderArchiveBuilder(name: nil, vendor: "v")
        archive.addBinary([0x7F, 0x45, 0x4C, 0x46], for: linux)
        let written = try archive.write(to: fixture.path("min.par"), issuer: fixture.account, subject: fixture.service)
        let loaded = try ProviderArchive.load(path: try #require(written.path))
        let metadata = loaded.claims.metadata
        #expect(metadata.name == nil)
        #expect(metadata.revision == nil && metadata.version == nil && metadata.configSchema == nil && loaded.world == nil)
        #expect(loaded.binary(for: linux) == [0x7F, 0x45, 0x4C, 0x46])
        #expect(!loaded.isCompressed)
    }

    @Test func aFullLoadCopiesIntoABuilderAndWritesBackWhole() throws {
        let fixture = try Fixture()
        var archive = ProviderArchiveBuilder(name: "p", vendor: "v", revision: 1, version: "1.0.0")
        archive.addBinary(pattern(1000), for: linux)
        archive.world = [9, 9]
        let first = try archive.write(to: fixture.path("p.par"), issuer: fixture.account, subject: fixture.service, compression: .gzip)
        let path = try #require(first.path)

        var copy = try ProviderArchiveBuilder(copying: ProviderArchive.load(path: path))
        copy.addBinary(pattern(2000, seed: 4), for: windows)
        try copy.write(to: path, issuer: fixture.account, subject: fixture.service, compression: .gzip)

        let reloaded = try ProviderArchive.load(path: path)
        #expect(reloaded.targets == [linux, windows])
        #expect(reloaded.binary(for: linux) == pattern(1000))
        #expect(reloaded.binary(for: windows) == pattern(2000, seed: 4))
        #expect(reloaded.world == [9, 9])
        #expect(reloaded.claims.metadata.targetHashes.count == 2)
        #expect(reloaded.claims.id != first.claims.id)
    }

    @Test func aSubsetLoadCannotBeWrittenBackAsTheWhole() throws {
        let fixture = try Fixture()
        var archive = ProviderArchiveBuilder(name: "p", vendor: "v")
        archive.addBinary(pattern(1000), for: linux)
        archive.addBinary(pattern(10), for: mac)
        archive.world = [1]
        let path = try #require(try archive.write(to: fixture.path("p.par"), issuer: fixture.account, subject: fixture.service).path)
        let subset = try ProviderArchive.load(path: path, selection: .only(linux))
        #expect(subset.binary(for: mac) == nil)
        #expect(subset.world == nil)
        #expect(subset.targets == [mac, linux])
        #expect(archiveError { _ = try ProviderArchiveBuilder(copying: subset) } == .incompleteLoad(.only(linux)))
    }

    @Test func fileBackedBinariesStreamAndMatchInMemoryOnes() throws {
        let fixture = try Fixture()
        let binary = try fixture.write(pattern(3_000_000), to: "provider")
        var fromFile = ProviderArchiveBuilder(name: "p", vendor: "v")
        try fromFile.addBinary(contentsOf: binary, for: linux)
        let written = try fromFile.write(to: fixture.path("a.par"), issuer: fixture.account, subject: fixture.service)
        #expect(written.claims.metadata.targetHashes[linux] == sha256(pattern(3_000_000)))
        let loaded = try ProviderArchive.load(path: fixture.path("a.par"), selection: .only(linux))
        #expect(loaded.binary(for: linux) == pattern(3_000_000))
    }

    @Test func theLayoutIsClaimsThenWorldThenSortedTargets() throws {
        let fixture = try Fixture()
        var archive = ProviderArchiveBuilder(name: "p", vendor: "v")
        for target in [windows, linux, mac] { archive.addBinary(pattern(10), for: target) }
        archive.world = [1]
        let sink = MemorySink()
        let token = try archive.write(to: sink, issuer: fixture.account, subject: fixture.service).token
        let reader = TarReader(MemorySource(sink.bytes))
        var names: [String] = []
        var modes: [UInt32] = []
        while let entry = try reader.nextEntry() {
            names.append(entry.name)
            modes.append(entry.mode)
        }
        #expect(names == ["claims.jwt", "world.wasm", "aarch64-macos.bin", "x86_64-linux.bin", "x86_64-windows.bin"])
        #expect(modes == [0o644, 0o644, 0o755, 0o755, 0o755])
        // Same inputs, same bytes after the claims entry.
        let again = MemorySink()
        try archive.write(to: again, issuer: fixture.account, subject: fixture.service)
        let claimsEnd = 512 + ((token.encoded.utf8.count + 511) / 512) * 512
        #expect(sink.bytes[claimsEnd...] == again.bytes[claimsEnd...])
    }

    @Test func loadingFromBytesAndStreamsAgrees() throws {
        let bytes = try Fixture().archive(binarySize: 4096, compression: .gzip)
        let fromBytes = try ProviderArchive.load(bytes: bytes)
        let fromStream = try ProviderArchive.load(from: MemorySource(bytes), selection: .only(linux))
        #expect(fromBytes.binary(for: linux) == fromStream.binary(for: linux))
        #expect(fromBytes.token == fromStream.token)
    }

    @Test func extractWritesAnExecutableOnlyAfterVerification() throws {
        let fixture = try Fixture()
        var archive = ProviderArchiveBuilder(name: "p", vendor: "v")
        archive.addBinary(pattern(300_000), for: linux)
        archive.addBinary(pattern(1000, seed: 3), for: mac)
        let path = try #require(try archive.write(to: fixture.path("p.par"), issuer: fixture.account, subject: fixture.service, compression: .gzip).path)
        let report = try ProviderArchive.extract(mac, fromArchiveAt: path, to: fixture.path("mac.bin"))
        #expect(try fixture.read("mac.bin") == pattern(1000, seed: 3))
        #expect(report.targets[mac]?.size == 1000)
        #expect(report.targets[linux]?.hash == sha256(pattern(300_000)))
        #expect(report.isCompressed)
        let mode = try FileManager.default.attributesOfItem(atPath: fixture.path("mac.bin"))[.posixPermissions] as? Int
        #expect(mode.map { $0 & 0o111 == 0o111 } == true)

        #expect(archiveError { _ = try ProviderArchive.extract(windows, fromArchiveAt: path, to: fixture.path("win.bin")) }
            == .targetNotFound(windows, available: [mac, linux]))
        #expect(!FileManager.default.fileExists(atPath: fixture.path("win.bin")))
    }

    @Test func verifyReportsSizesAndHashesWithoutKeepingBinaries() throws {
        let fixture = try Fixture()
        var archive = ProviderArchiveBuilder(name: "p", vendor: "v")
        archive.addBinary(pattern(12345), for: linux)
        archive.world = [1, 2, 3]
        let path = try #require(try archive.write(to: fixture.path("p.par"), issuer: fixture.account, subject: fixture.service).path)
        let report = try ProviderArchive.verify(path: path, requiredTargets: [linux])
        #expect(report.targets.count == 1)
        #expect(report.targets[linux]?.size == 12345)
        #expect(report.targets[linux]?.hash == sha256(pattern(12345)))
        #expect(report.world?.size == 3)
        #expect(!report.isCompressed)
        #expect(archiveError { _ = try ProviderArchive.verify(path: path, requiredTargets: [mac]) } == .targetNotFound(mac, available: [linux]))
    }
}

@Suite struct WriteErrorTests {
    @Test func failedWritesLeaveNothingBehindAndOldFilesUntouched() throws {
        let fixture = try Fixture()
        var empty = ProviderArchiveBuilder(name: "p", vendor: "v")
        let existing = try fixture.write([1, 2, 3], to: "old.par")
        #expect(archiveError { try empty.write(to: existing, issuer: fixture.account, subject: fixture.service) } == .noTargets)
        #expect(try fixture.read("old.par") == [1, 2, 3])

        empty.addBinary([1], for: linux)
        let error = archiveError { try empty.write(to: fixture.path("missing/x.par"), issuer: fixture.account, subject: fixture.service) }
        guard case .file(let fileError)? = error else {
            Issue.record("expected a file error, got \(String(describing: error))")
            return
        }
        #expect(fileError.isNotFound)
        #expect(archiveError { try empty.write(to: existing, issuer: fixture.service, subject: fixture.service) }
            == .claims(.invalidKey(claim: "iss", .wrongRole(expected: .account, actual: .service))))
        #expect(archiveError { try empty.write(to: existing, issuer: fixture.account, subject: fixture.account) }
            == .claims(.invalidKey(claim: "sub", .wrongRole(expected: .service, actual: .account))))
        #expect(try fixture.read("old.par") == [1, 2, 3])
        #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.directory) == ["old.par"])
    }

    @Test func directoriesAndMissingFilesAreRefusedAsLibraries() throws {
        let fixture = try Fixture()
        var archive = ProviderArchiveBuilder(name: "p", vendor: "v")
        #expect(archiveError { try archive.addBinary(contentsOf: fixture.directory, for: linux) }
            == .file(FileError(operation: "open", path: fixture.directory, code: 21)))
        #expect(archiveError { try archive.addBinary(contentsOf: fixture.path("nope"), for: linux) }
            == .file(FileError(operation: "open", path: fixture.path("nope"), code: 2)))
    }

    @Test func aLibraryFileThatChangesBeforePackingIsRefused() throws {
        let fixture = try Fixture()
        let binary = try fixture.write(pattern(1000), to: "provider")
        var archive = ProviderArchiveBuilder(name: "p", vendor: "v")
        try archive.addBinary(contentsOf: binary, for: linux)
        /// A sink that rewrites the library once the claims (written first) have gone out.
        final class Meddler: ByteSink {
            let path: String
            var done = false
            init(path: String) { self.path = path }
            func write(_ bytes: UnsafeRawBufferPointer) throws {
                if !done {
                    done = true
                    try Data(pattern(1001)).write(to: URL(fileURLWithPath: path))
                }
            }
        }
        #expect(archiveError { try archive.write(to: Meddler(path: binary), issuer: fixture.account, subject: fixture.service) }
            == .fileChanged(binary))
    }
}
