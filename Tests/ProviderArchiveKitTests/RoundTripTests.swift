import Foundation
import PARTestSupport
import ProviderArchiveKit
import Testing

@Suite struct RoundTripTests {
    @Test(arguments: [ArchiveCompression.none, .gzip, .gzip(.best)])
    func writeThenLoadKeepsEverything(compression: ArchiveCompression) throws {
        let fixture = try Fixture()
        var archive = ProviderArchive(name: "HTTP Server", vendor: "acme", revision: 3, version: "0.23.0")
        archive.addLibrary(pattern(100_000), for: linux)
        archive.addLibrary(pattern(5000, seed: 2), for: mac)
        archive.configSchema = try JSONValue(parsing: Array(#"{"type":"object","properties":{"port":{"type":"integer","default":8080}}}"#.utf8))
        archive.world = pattern(777, seed: 5)
        let path = try archive.write(to: fixture.path("http.par"), issuer: fixture.account, subject: fixture.service, compression: compression)
        #expect(path == fixture.path(compression == .none ? "http.par" : "http.par.gz"))
        #expect(archive.token != nil)

        let loaded = try ProviderArchive.load(path: path)
        #expect(loaded.name == "HTTP Server")
        #expect(loaded.vendor == "acme")
        #expect(loaded.revision == 3)
        #expect(loaded.version == "0.23.0")
        #expect(loaded.targets == [mac, linux])
        #expect(try loaded.library(for: linux) == pattern(100_000))
        #expect(try loaded.library(for: mac) == pattern(5000, seed: 2))
        #expect(loaded.configSchema == archive.configSchema)
        #expect(loaded.world == pattern(777, seed: 5))
        #expect(loaded.token == archive.token)
        #expect(loaded.claims?.issuer == fixture.account.publicKey)
        #expect(loaded.claims?.subject == fixture.service.publicKey)
        #expect(loaded.claims?.metadata.targetHashes[linux] == sha256(pattern(100_000)))
    }

    @Test func minimalArchivesRoundTripWithoutSchemaOrWorld() throws {
        let fixture = try Fixture()
        var archive = ProviderArchive(name: nil, vendor: "v")
        archive.addLibrary([0x7F, 0x45, 0x4C, 0x46], for: linux)
        let path = try archive.write(to: fixture.path("min.par"), issuer: fixture.account, subject: fixture.service)
        let loaded = try ProviderArchive.load(path: path)
        #expect(loaded.name == nil)
        #expect(loaded.revision == nil && loaded.version == nil && loaded.configSchema == nil && loaded.world == nil)
        #expect(try loaded.library(for: linux) == [0x7F, 0x45, 0x4C, 0x46])
    }

    @Test func reloadAfterAddingATargetAndResigning() throws {
        let fixture = try Fixture()
        var archive = ProviderArchive(name: "p", vendor: "v", revision: 1, version: "1.0.0")
        archive.addLibrary(pattern(1000), for: linux)
        let path = try archive.write(to: fixture.path("p.par"), issuer: fixture.account, subject: fixture.service, compression: .gzip)

        var loaded = try ProviderArchive.load(path: path)
        loaded.addLibrary(pattern(2000, seed: 4), for: windows)
        try loaded.write(to: path, issuer: fixture.account, subject: fixture.service, compression: .gzip)

        let reloaded = try ProviderArchive.load(path: path)
        #expect(reloaded.targets == [linux, windows])
        #expect(try reloaded.library(for: windows) == pattern(2000, seed: 4))
        #expect(reloaded.claims?.metadata.targetHashes.count == 2)
        #expect(reloaded.claims?.id != archive.claims?.id)
    }

    @Test func fileBackedLibrariesStreamAndMatchInMemoryOnes() throws {
        let fixture = try Fixture()
        let binary = try fixture.write(pattern(3_000_000), to: "provider")
        var fromFile = ProviderArchive(name: "p", vendor: "v")
        try fromFile.addLibrary(contentsOf: binary, for: linux)
        try fromFile.write(to: fixture.path("a.par"), issuer: fixture.account, subject: fixture.service)
        #expect(fromFile.claims?.metadata.targetHashes[linux] == sha256(pattern(3_000_000)))
        #expect(try fromFile.library(for: linux) == pattern(3_000_000))
        let loaded = try ProviderArchive.load(path: fixture.path("a.par"), selection: .only(linux))
        #expect(try loaded.library(for: linux) == pattern(3_000_000))
    }

    @Test func theLayoutIsClaimsThenWorldThenSortedTargets() throws {
        let fixture = try Fixture()
        var archive = ProviderArchive(name: "p", vendor: "v")
        for target in [windows, linux, mac] { archive.addLibrary(pattern(10), for: target) }
        archive.world = [1]
        let sink = MemorySink()
        try archive.write(to: sink, issuer: fixture.account, subject: fixture.service)
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
        let claimsEnd = 512 + ((archive.token!.encoded.utf8.count + 511) / 512) * 512
        #expect(sink.bytes[claimsEnd...] == again.bytes[claimsEnd...])
    }

    @Test func loadingFromBytesAndStreamsAgrees() throws {
        let fixture = try Fixture()
        var archive = ProviderArchive(name: "p", vendor: "v")
        archive.addLibrary(pattern(4096), for: linux)
        let sink = MemorySink()
        try archive.write(to: sink, issuer: fixture.account, subject: fixture.service, compression: .gzip)
        let fromBytes = try ProviderArchive.load(bytes: sink.bytes)
        let fromStream = try ProviderArchive.load(from: MemorySource(sink.bytes), selection: .only(linux))
        #expect(try fromBytes.library(for: linux) == fromStream.library(for: linux))
        #expect(fromBytes.token == fromStream.token)
    }

    @Test func extractWritesAnExecutableOnlyAfterVerification() throws {
        let fixture = try Fixture()
        var archive = ProviderArchive(name: "p", vendor: "v")
        archive.addLibrary(pattern(300_000), for: linux)
        archive.addLibrary(pattern(1000, seed: 3), for: mac)
        let path = try archive.write(to: fixture.path("p.par"), issuer: fixture.account, subject: fixture.service, compression: .gzip)
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
        var archive = ProviderArchive(name: "p", vendor: "v")
        archive.addLibrary(pattern(12345), for: linux)
        archive.world = [1, 2, 3]
        let path = try archive.write(to: fixture.path("p.par"), issuer: fixture.account, subject: fixture.service)
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
        var empty = ProviderArchive(name: "p", vendor: "v")
        let existing = try fixture.write([1, 2, 3], to: "old.par")
        #expect(archiveError { try empty.write(to: existing, issuer: fixture.account, subject: fixture.service) } == .noTargets)
        #expect(try fixture.read("old.par") == [1, 2, 3])

        empty.addLibrary([1], for: linux)
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
        var archive = ProviderArchive(name: "p", vendor: "v")
        #expect(archiveError { try archive.addLibrary(contentsOf: fixture.directory, for: linux) }
            == .file(FileError(operation: "open", path: fixture.directory, code: 21)))
        #expect(archiveError { try archive.addLibrary(contentsOf: fixture.path("nope"), for: linux) }
            == .file(FileError(operation: "open", path: fixture.path("nope"), code: 2)))
    }

    @Test func aLibraryFileThatChangesBeforePackingIsRefused() throws {
        let fixture = try Fixture()
        let binary = try fixture.write(pattern(1000), to: "provider")
        var archive = ProviderArchive(name: "p", vendor: "v")
        try archive.addLibrary(contentsOf: binary, for: linux)
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
