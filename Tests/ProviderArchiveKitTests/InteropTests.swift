import Foundation
import PARTestSupport
import PARBytes
import PARClaims
import PARContainer
import PARNKeys
import ProviderArchiveKit
import Testing

/// Archives checked and made by code we did not write: parcheck.py (NATS nkeys, PyNaCl,
/// Python tarfile), GNU tar and Python's tarfile.
@Suite struct InteropTests {
    @Test(arguments: [ArchiveCompression.none, .gzip])
    func everyArchiveWeWritePassesParcheck(compression: ArchiveCompression) throws {
        let fixture = try Fixture()
        let world = try fixture.write(pattern(999, seed: 8), to: "world.wasm")
        var archive = ProviderArchiveBuilder(name: "Interop Provider", vendor: "acme ✓", revision: 42, version: "1.2.3")
        archive.addBinary(pattern(200_000), for: linux)
        archive.addBinary(pattern(3, seed: 2), for: mac)
        archive.world = pattern(999, seed: 8)
        archive.configSchema = try JSONValue(parsing: Array(#"{"type":"object","title":"quote \" and \\ and \n"}"#.utf8))
        let path = try #require(
            try archive.write(to: fixture.path("ours.par"), issuer: fixture.account, subject: fixture.service, compression: compression).path)
        let check = try ExternalTools.runParcheck([
            "verify", path, "--issuer", fixture.account.publicKey.encoded, "--subject", fixture.service.publicKey.encoded,
            "--name", "Interop Provider", "--vendor", "acme ✓", "--rev", "42", "--ver", "1.2.3",
            "--target", "x86_64-linux", "--target", "aarch64-macos", "--wit", world,
        ])
        #expect(check.status == 0, "\(check.output)")
        #expect(check.output.contains(" 0 failed"))

        // GNU tar lists it and extracts the same bytes.
        let listing = try ExternalTools.run(["tar", "-tvf", path])
        #expect(listing.status == 0)
        #expect(listing.output.split(separator: "\n").count == 4)
        let extracted = try ExternalTools.run(["tar", "-xOf", path, "x86_64-linux.bin"])
        #expect(extracted.outputBytes == pattern(200_000))
    }

    @Test(arguments: [false, true])
    func archivesShapedLikeTheRustCratesLoad(gzip: Bool) throws {
        let fixture = try Fixture()
        let linuxBinary = try fixture.write(pattern(70_000), to: "linux")
        let macBinary = try fixture.write(pattern(513, seed: 3), to: "mac")
        let world = try fixture.write(pattern(100, seed: 9), to: "w.wasm")
        let schema = try fixture.write(Array(#"{"b":1.0,"a":[1,2,{"c":null}]}"#.utf8), to: "schema.json")
        var arguments = [
            "make", fixture.path("ref.par"), "--name", "Reference", "--vendor", "wasmcloud", "--rev", "7", "--ver", "0.16.2",
            "--lib", "x86_64-linux=\(linuxBinary)", "--lib", "aarch64-macos=\(macBinary)", "--wit", world, "--schema", schema,
            "--issuer-seed", fixture.account.seed, "--subject-seed", fixture.service.seed, "--jti", "REFERENCEJTI0000000000",
        ]
        if gzip { arguments.append("--gzip") }
        let made = try ExternalTools.runParcheck(arguments)
        #expect(made.status == 0, "\(made.error)")

        let policy = VerificationPolicy(trustedIssuers: [fixture.account.publicKey])
        let loaded = try ProviderArchive.load(path: fixture.path("ref.par"), policy: policy)
        let metadata = loaded.claims.metadata
        #expect(metadata.name == "Reference")
        #expect(metadata.vendor == "wasmcloud")
        #expect(metadata.revision == 7)
        #expect(metadata.version == "0.16.2")
        #expect(loaded.targets == [mac, linux])
        #expect(loaded.isCompressed == gzip)
        #expect(loaded.binary(for: linux) == pattern(70_000))
        #expect(loaded.world == pattern(100, seed: 9))
        #expect(metadata.configSchema?.serialized == #"{"b":1.0,"a":[1,2,{"c":null}]}"#)
        #expect(loaded.claims.id == "REFERENCEJTI0000000000")
        #expect(loaded.claims.subject == fixture.service.publicKey)

        let one = try ProviderArchive.load(path: fixture.path("ref.par"), selection: .only(mac), policy: policy)
        #expect(one.binary(for: mac) == pattern(513, seed: 3))
        #expect(one.binary(for: linux) == nil)
        #expect(one.targets == [mac, linux])
        #expect(one.selection == .only(mac))
    }

    /// The claims and binaries of a parcheck-made archive, unpacked to a folder.
    func unpackedReferenceArchive(_ fixture: Fixture) throws -> String {
        let binary = try fixture.write(pattern(20_000), to: "bin")
        let made = try ExternalTools.runParcheck([
            "make", fixture.path("ref.par"), "--name", "n", "--vendor", "v", "--lib", "x86_64-linux=\(binary)",
            "--issuer-seed", fixture.account.seed, "--subject-seed", fixture.service.seed,
        ])
        #expect(made.status == 0)
        let folder = fixture.path("unpacked")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        #expect(try ExternalTools.run(["tar", "-xf", fixture.path("ref.par"), "-C", folder]).status == 0)
        return folder
    }

    @Test(arguments: ["ustar", "gnu", "pax", "v7"])
    func archivesRepackedByGnuTarLoad(format: String) throws {
        let fixture = try Fixture()
        let folder = try unpackedReferenceArchive(fixture)
        // By name, in an order with the binary first: claims.jwt need not lead.
        #expect(try ExternalTools.run([
            "tar", "--format=\(format)", "-C", folder, "-cf", fixture.path("gnu.par"), "x86_64-linux.bin", "claims.jwt",
        ]).status == 0)
        #expect(try ProviderArchive.load(path: fixture.path("gnu.par")).binary(for: linux) == pattern(20_000))
        #expect(try ProviderArchive.load(path: fixture.path("gnu.par"), selection: .only(linux)).binary(for: linux) == pattern(20_000))
        // As `tar -C dir -czf x.par .` writes it: a ./ directory entry and ./ prefixes.
        #expect(try ExternalTools.run(["tar", "--format=\(format)", "-C", folder, "-czf", fixture.path("dot.par.gz"), "."]).status == 0)
        #expect(try ProviderArchive.load(path: fixture.path("dot.par.gz")).targets == [linux])
    }

    @Test(arguments: ["USTAR_FORMAT", "GNU_FORMAT", "PAX_FORMAT"])
    func archivesRepackedByPythonTarfileLoad(format: String) throws {
        let fixture = try Fixture()
        let folder = try unpackedReferenceArchive(fixture)
        let script = """
            import tarfile, sys
            with tarfile.open(sys.argv[2], "w:gz", format=tarfile.\(format)) as t:
                for name in ("claims.jwt", "x86_64-linux.bin"):
                    t.add(sys.argv[1] + "/" + name, arcname=name)
            """
        let result = try ExternalTools.run(["python3", "-c", script, folder, fixture.path("py.par.gz")])
        #expect(result.status == 0, "\(result.error)")
        #expect(try ProviderArchive.load(path: fixture.path("py.par.gz")).binary(for: linux) == pattern(20_000))
    }
}
