import ArgumentParser
import Foundation
import PARTestSupport
import PARBytes
import PARClaims
import PARNKeys
import ProviderArchiveKit
import Testing

@testable import par

/// Each mistake a user can make: exit code 1, one line naming problem and remedy, no file left.
@Suite struct BadInputTests: ProviderSetupSuite {
    let setup: ProviderSetup

    init() throws {
        setup = try ProviderSetup(binarySize: 10_000)
    }

    func create(_ extra: [String], input: [UInt8]? = nil) throws -> ParResult {
        try work.par(["create", "-n", "p", "-v", "v", "-i", account.seed, "-s", service.seed] + extra, input: input)
    }

    func expectNothingWritten(sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(try work.files() == ["provider"], sourceLocation: sourceLocation)
    }

    @Test func aMissingBinary() throws {
        expectFailure(try create(["-b", "missing"]), saying: "--binary: cannot open missing: no such file or directory")
        try expectNothingWritten()
    }

    @Test func aDirectoryAsBinary() throws {
        try FileManager.default.createDirectory(atPath: work.path("folder"), withIntermediateDirectories: true)
        expectFailure(try create(["-b", "folder"]), saying: "it is a directory")
        #expect(try work.files() == ["folder", "provider"])
    }

    @Test func anUnreadableOrMissingKeyFile() throws {
        expectFailure(try work.par(["create", "-n", "p", "-v", "v", "-b", "provider", "-i", "keys/nope.nk"]), saying: "does not exist")
        try work.write(Array("not a key".utf8), to: "garbage.nk")
        expectFailure(try work.par(["create", "-n", "p", "-v", "v", "-b", "provider", "-i", "garbage.nk"]), saying: "garbage.nk is not usable")
        #expect(try work.files() == ["garbage.nk", "provider"])
    }

    @Test func aSeedWithABadChecksum() throws {
        var seed = Array(account.seed)
        seed[20] = seed[20] == "A" ? "B" : "A"
        expectFailure(try create(["-b", "provider", "-i", String(seed)]), saying: "checksum")
        try expectNothingWritten()
    }

    @Test func aPublicKeyWhereASeedIsNeeded() throws {
        expectFailure(try create(["-b", "provider", "-i", account.publicKey.encoded]), saying: "signing needs its seed")
        try expectNothingWritten()
    }

    @Test func aServiceSeedAsIssuer() throws {
        expectFailure(try create(["-b", "provider", "-i", service.seed]), saying: "an account key (A...) is needed")
        try expectNothingWritten()
    }

    @Test func anInvalidTargetName() throws {
        expectUsageError(try create(["-b", "provider", "-a", "linux"]), saying: "'linux' is not a target name")
        expectUsageError(try create(["-b", "provider", "-b", "provider"]), saying: "give an --arch ARCH-OS for each --binary")
        try expectNothingWritten()
    }

    @Test func aSchemaThatIsNotJSON() throws {
        try work.write(Array("{not json".utf8), to: "schema.json")
        let result = try create(["-b", "provider", "-j", "schema.json"])
        // The schema file is named as the culprit, not an archive's claims.jwt.
        expectFailure(result, saying: "the schema schema.json is not valid JSON (expected a string key at byte 1)")
        #expect(!result.error.contains("claims.jwt"))
        #expect(try work.files() == ["provider", "schema.json"])
    }

    @Test func aDestinationInAMissingFolder() throws {
        expectFailure(try create(["-b", "provider", "--destination", "missing/out.par"]), saying: "does not exist: create it first")
        try expectNothingWritten()
    }

    @Test func missingKeysWithKeygenDisabled() throws {
        let result = try work.par(["create", "-n", "p", "-v", "v", "-b", "provider", "--disable-keygen"])
        expectFailure(result, saying: "--disable-keygen is set")
        try expectNothingWritten()
    }

    @Test func aTamperedArchiveFailsEverywhereAndIsLeftAlone() throws {
        #expect(try create(["-b", "provider", "--destination", "p.par"]).status == 0)
        var bytes = try work.read("p.par")
        bytes[bytes.count - 1024 - 512 - 10] ^= 0xFF  // inside the binary's content
        try work.write(bytes, to: "p.par")
        try work.write(pattern(10, seed: 9), to: "other")

        expectFailure(try work.par(["verify", "p.par"]), saying: "does not match the hash in claims.jwt")
        let inspected = try work.par(["inspect", "p.par"])
        #expect(inspected.status == 1)
        #expect(inspected.output.contains("FAILED"))
        expectFailure(try work.par(["extract", "p.par", "--destination", "out"]), saying: "changed after signing")
        expectFailure(try work.par(["insert", "p.par", "-b", "other", "-a", "aarch64-macos", "-i", account.seed, "-s", service.seed]),
                      saying: "changed after signing")
        #expect(try work.read("p.par") == bytes)
        #expect(try work.files() == ["other", "p.par", "provider"])
    }

    @Test func insertFailuresLeaveTheArchiveUntouched() throws {
        #expect(try create(["-b", "provider", "--destination", "p.par", "--compress"]).status == 0)
        let before = try work.read("p.par.gz")
        expectFailure(try work.par(["insert", "p.par.gz", "-b", "missing", "-i", account.seed, "-s", service.seed]), saying: "--binary")
        expectUsageError(try work.par(["insert", "p.par.gz", "-b", "provider", "-a", "bad"]), saying: "not a target name")
        // No key for the archive's subject in the key directory: refuse rather than change its identity.
        expectFailure(try work.par(["insert", "p.par.gz", "-b", "provider", "-a", "aarch64-macos"]), saying: "pass --subject")
        #expect(try work.read("p.par.gz") == before)
        #expect(try work.files().filter { $0 != "keys" } == ["p.par.gz", "provider"])
    }

    @Test func verifyChecksIssuersTargetsAndExpiry() throws {
        #expect(try create(["-b", "provider", "--destination", "p.par"]).status == 0)
        #expect(try work.par(["verify", "p.par", "--trusted-issuer", account.publicKey.encoded]).status == 0)
        expectFailure(try work.par(["verify", "p.par", "--trusted-issuer", NKeyPair.generate(role: .account).publicKey.encoded]),
                      saying: "not one of the trusted issuers")
        expectUsageError(try work.par(["verify", "p.par", "--trusted-issuer", service.publicKey.encoded]), saying: "is a service key")
        expectFailure(try work.par(["verify", "p.par", "--target", "aarch64-macos"]), saying: "has no aarch64-macos binary")
        expectFailure(try work.par(["verify", "missing.par"]), saying: "no such file")

        let made = try ExternalTools.runParcheck([
            "make", work.path("old.par"), "--name", "n", "--vendor", "v", "--lib", "x86_64-linux=\(work.path("provider"))", "--exp", "1000",
        ])
        #expect(made.status == 0)
        expectFailure(try work.par(["verify", "old.par"]), saying: "expired")
        #expect(try work.par(["verify", "old.par", "--allow-expired"]).status == 0)
        let json = try work.par(["verify", "old.par", "-o", "json"])
        #expect(json.status == 1)
        #expect(json.output.isEmpty)
        let failure = try JSONValue(parsing: Array(json.error.utf8))
        #expect(failure["success"] == .bool(false))
        #expect(failure["error"].map { "\($0)" }?.contains("expired") == true)
    }

    @Test func usageErrorsUseTheParsersExitCode() throws {
        #expect(try work.par(["verify"]).status == 64)
        #expect(try work.par(["create", "-n", "p"]).status == 64)
        #expect(try work.par(["frobnicate"]).status == 64)
        #expect(try work.par(["inspect", "x", "-o", "yaml"]).status == 64)
    }
}

/// The command line as the parser reads it, in process.
@Suite struct ParsingTests {
    @Test func createTakesWashsShortFlags() throws {
        let command = try Par.parseAsRoot([
            "create", "-n", "N", "-v", "V", "-r", "3", "-j", "s.json", "-d", "/k", "-i", "I", "-s", "S", "-a", "x86_64-linux",
            "-b", "bin", "--version", "1.0.0", "--compress", "--disable-keygen", "--destination", "out.par",
        ])
        let create = try #require(command as? CreateCommand)
        #expect(create.name == "N")
        #expect(create.vendor == "V")
        #expect(create.revision == 3)
        #expect(create.schema == "s.json")
        #expect(create.keys.directory.directory == "/k")
        #expect(create.keys.issuer == "I")
        #expect(create.keys.subject == "S")
        #expect(create.arch == [try Target("x86_64-linux")])
        #expect(create.binary == ["bin"])
        #expect(create.providerVersion == "1.0.0")
        #expect(create.compress)
        #expect(create.keys.disableKeygen)
        #expect(create.destination == "out.par")
    }
}
