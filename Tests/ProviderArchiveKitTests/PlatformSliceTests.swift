import Foundation
import PARTestSupport
import PARBytes
import PARClaims
import PARContainer
import ProviderArchiveKit
import Testing

/// Platform slices: written from a full archive, verified as slices and never as full
/// archives, and put back together into the full archive.
@Suite struct PlatformSliceTests {
    let fixture: Fixture
    let binaries: [Target: [UInt8]]
    let world = pattern(3000, seed: 9)

    init() throws {
        fixture = try Fixture()
        binaries = [linux: pattern(70_000, seed: 1), mac: pattern(50_000, seed: 2), windows: pattern(30_000, seed: 3)]
    }

    /// A full archive of the three binaries and world.wasm, claims.jwt first (as par writes it).
    func fullArchive(compressed: Bool) throws -> (path: String, token: String) {
        let token = try fixture.token(hashes: binaries, world: world)
        var entries: [(String, [UInt8])] = [("claims.jwt", Array(token.utf8)), ("world.wasm", world)]
        entries += binaries.sorted { $0.key < $1.key }.map { ($0.key.entryName, $0.value) }
        var bytes = try fixture.tar(entries)
        if compressed {
            let sink = MemorySink()
            let gzip = try GzipWriter(sink)
            try bytes.withUnsafeBytes { try gzip.write($0) }
            try gzip.finish()
            bytes = sink.bytes
        }
        return (try fixture.write(bytes, to: compressed ? "full.par.gz" : "full.par"), token)
    }

    func slice(_ target: Target, of path: String) throws -> String {
        let verified = try ProviderArchive.verify(path: path)
        let sink = MemorySink()
        let slice = try ProviderArchive.writeSlice(target, ofArchiveAt: path, verified: verified, to: sink)
        #expect(slice.targets.keys.sorted() == [target])
        return try fixture.write(sink.bytes, to: "\(target).slice" + (verified.isCompressed ? ".gz" : ""))
    }

    /// The entries of a tar, by GNU tar, an implementation we did not write.
    func listing(_ path: String) throws -> [String] {
        try ExternalTools.run(["tar", "-tf", path]).output.split(separator: "\n").map(String.init)
    }

    @Test(arguments: [false, true])
    func aSliceHoldsTheOriginalClaimsTheWorldAndOneBinary(compressed: Bool) throws {
        let (path, token) = try fullArchive(compressed: compressed)
        let slice = try slice(mac, of: path)
        #expect(try listing(slice) == ["claims.jwt", "world.wasm", "aarch64-macos.bin"])
        #expect(GzipReader.isGzip(try fixture.read((slice as NSString).lastPathComponent)) == compressed)
        let claims = try ExternalTools.run(["tar", "-xOf", slice, "claims.jwt"]).output
        #expect(claims == token)
        let verified = try ProviderArchive.verifySlice(path: slice, target: mac)
        #expect(verified.kind == .platformSlice(mac, signedTargets: 3))
        #expect(verified.kind.description == "platform slice: 1 of 3 signed targets (aarch64-macos)")
        #expect(verified.world != nil)
        // A host's load of its own target reads a slice as the reference's does.
        #expect(try ProviderArchive.load(path: slice, selection: .only(mac)).binary(for: mac) == binaries[mac])
    }

    @Test func aSliceIsNeverTakenForAFullArchive() throws {
        let (path, _) = try fullArchive(compressed: true)
        let slice = try slice(linux, of: path)
        #expect(archiveError { _ = try ProviderArchive.verify(path: slice) } == .platformSlice(linux, signedTargets: 3))
        #expect(archiveError { _ = try ProviderArchive.load(path: slice) } == .platformSlice(linux, signedTargets: 3))
        #expect(archiveError { _ = try ProviderArchive.verifySlice(path: slice, target: mac) } == .wrongSliceTarget(expected: mac, actual: linux))
        // Nor a full archive for a slice.
        #expect(archiveError { _ = try ProviderArchive.verifySlice(path: path) } == .notASlice(targets: [mac, linux, windows].sorted()))
        #expect(try ProviderArchive.verify(path: path).kind == .full(targets: 3))
        // Insert rewrites claims for a full archive only.
        let binary = try fixture.write(pattern(10), to: "new.bin")
        let error = archiveError {
            try ProviderArchive.insert(
                binaryAt: binary, for: mac, intoArchiveAt: slice, signingKeys: { _ in (fixture.account, fixture.service) })
        }
        #expect(error == .platformSlice(linux, signedTargets: 3))
    }

    @Test func twoOfThreeIsNotASliceButAnIncompleteArchive() throws {
        let token = try fixture.token(hashes: binaries)
        let bytes = try fixture.tar([("claims.jwt", Array(token.utf8)), (linux.entryName, binaries[linux]!), (mac.entryName, binaries[mac]!)])
        #expect(archiveError { _ = try ProviderArchive.load(bytes: bytes) } == .missingTarget(windows))
        #expect(archiveError { _ = try ProviderArchive.verifySlice(from: MemorySource(bytes)) } == .notASlice(targets: [mac, linux].sorted()))
        #expect(try ProviderArchive.load(bytes: bytes, selection: .only(linux)).verified.kind == .incomplete(present: 2, signedTargets: 3))
    }

    @Test func slicesAreAssembledIntoTheFullArchive() throws {
        let (path, token) = try fullArchive(compressed: true)
        let slices = try [windows, linux, mac].map { try slice($0, of: path) }
        let whole = try ProviderArchive.assemble(slicesAt: slices, to: fixture.path("whole.par.gz"))
        #expect(whole.kind == .full(targets: 3))
        #expect(whole.token.encoded == token)
        #expect(try listing(fixture.path("whole.par.gz")) == ["claims.jwt", "world.wasm"] + binaries.keys.sorted().map(\.entryName))
        let check = try ExternalTools.runParcheck(["verify", fixture.path("whole.par.gz"), "--name", "Test"])
        #expect(check.status == 0, "\(check.output)")
        for (target, bytes) in binaries {
            #expect(try ProviderArchive.load(path: fixture.path("whole.par.gz")).binary(for: target) == bytes)
        }
    }

    @Test func slicesThatDoNotMakeOneArchiveAreRefusedAndNothingIsWritten() throws {
        let (path, _) = try fullArchive(compressed: false)
        let linuxSlice = try slice(linux, of: path)
        let macSlice = try slice(mac, of: path)
        let destination = fixture.path("whole.par")
        #expect(archiveError { _ = try ProviderArchive.assemble(slicesAt: [linuxSlice, macSlice], to: destination) } == .missingTarget(windows))
        #expect(archiveError { _ = try ProviderArchive.assemble(slicesAt: [linuxSlice, linuxSlice], to: destination) } == .duplicateSlice(linux))
        // A slice of another signing of the same binaries: claims differ.
        let other = try Fixture()
        let otherToken = try other.token(hashes: binaries, world: world)
        let foreign = try fixture.write(
            try fixture.tar([("claims.jwt", Array(otherToken.utf8)), ("world.wasm", world), (windows.entryName, binaries[windows]!)]),
            to: "foreign.par")
        #expect(
            archiveError { _ = try ProviderArchive.assemble(slicesAt: [linuxSlice, macSlice, foreign], to: destination) }
                == .slicesDisagree(foreign))
        #expect(archiveError { _ = try ProviderArchive.assemble(slicesAt: [linuxSlice, path], to: destination) } == .notASlice(targets: binaries.keys.sorted()))
        #expect(archiveError { _ = try ProviderArchive.assemble(slicesAt: [linuxSlice], to: linuxSlice) } == .destinationIsInput(linuxSlice))
        #expect(!FileManager.default.fileExists(atPath: destination))
        #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.directory).filter { $0.hasPrefix(".par-") }.isEmpty)
    }

    @Test func aSliceMissingItsSignedWorldIsRefused() throws {
        let token = try fixture.token(hashes: binaries, world: world)
        let bytes = try fixture.tar([("claims.jwt", Array(token.utf8)), (linux.entryName, binaries[linux]!)])
        #expect(archiveError { _ = try ProviderArchive.verifySlice(from: MemorySource(bytes)) } == .missingWorld)
    }
}
