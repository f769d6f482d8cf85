import Foundation
import PARTestSupport
import PARBytes
import PARClaims
import PARNKeys
import ProviderArchiveKit
import Testing

/// The whole job as a user does it, checked by parcheck.py at every step.
@Suite struct WorkflowTests {
    @Test(arguments: [false, true])
    func createInspectInsertVerifyExtract(compress: Bool) throws {
        let work = try Workspace()
        try work.write(pattern(2_000_000), to: "http-server")
        try work.write(pattern(4000, seed: 5), to: "http-server-mac")
        try work.write(Array(#"{"type":"object","properties":{"port":{"type":"integer"}}}"#.utf8), to: "schema.json")
        // A component's preamble, then anything: par stores the world as given.
        try work.write(WorldEncoding.componentPreamble + pattern(300, seed: 7), to: "world.wasm")

        var create = ["create", "-n", "HTTP Server", "-v", "acme", "--version", "0.23.0", "-r", "4", "-b", "http-server",
                      "-a", "x86_64-linux", "-j", "schema.json", "--wit-world", "world.wasm"]
        if compress { create.append("--compress") }
        let created = try work.par(create)
        #expect(created.status == 0, "\(created.error)")
        let archive = compress ? "http-server.par.gz" : "http-server.par"
        #expect(created.output == "Successfully created archive ./\(archive)\n")
        #expect(created.error.contains("tester_account.nk"))
        #expect(created.error.contains("http-server_service.nk"))
        #expect(work.exists(archive))
        #expect(try work.read(archive).starts(with: [0x1F, 0x8B]) == compress)

        // The keys it generated are the ones that signed.
        let account = try NKeyPair(seed: String(decoding: try work.read("keys/tester_account.nk"), as: UTF8.self))
        let service = try NKeyPair(seed: String(decoding: try work.read("keys/http-server_service.nk"), as: UTF8.self))
        var check = try ExternalTools.runParcheck([
            "verify", work.path(archive), "--issuer", account.publicKey.encoded, "--subject", service.publicKey.encoded,
            "--name", "HTTP Server", "--vendor", "acme", "--ver", "0.23.0", "--rev", "4", "--target", "x86_64-linux",
            "--wit", work.path("world.wasm"),
        ])
        #expect(check.status == 0, "\(check.output)")

        try expectInspection(of: archive, in: work, account: account, service: service)

        let inserted = try work.par(["insert", archive, "-b", "http-server-mac", "-a", "aarch64-macos"])
        #expect(inserted.status == 0, "\(inserted.error)")
        #expect(try work.read(archive).starts(with: [0x1F, 0x8B]) == compress)
        check = try ExternalTools.runParcheck([
            "verify", work.path(archive), "--issuer", account.publicKey.encoded, "--subject", service.publicKey.encoded,
            "--name", "HTTP Server", "--target", "x86_64-linux", "--target", "aarch64-macos", "--wit", work.path("world.wasm"),
        ])
        #expect(check.status == 0, "\(check.output)")
        try expectVerifiedAndExtracted(archive, in: work, account: account)
    }

    /// `inspect` of the archive `createInspectInsertVerifyExtract` created, as text and JSON.
    private func expectInspection(of archive: String, in work: Workspace, account: NKeyPair, service: NKeyPair) throws {
        let inspected = try work.par(["inspect", archive])
        #expect(inspected.status == 0)
        for expected in ["HTTP Server - Provider Archive", account.publicKey.encoded, service.publicKey.encoded, "acme", "0.23.0",
                         "Revision        4", "never", "immediately", "verified", "x86_64-linux", "2.0 MB"] {
            #expect(inspected.output.contains(expected), "missing \(expected) in \(inspected.output)")
        }
        let json = try JSONValue(parsing: Array(try work.par(["inspect", archive, "-o", "json"]).output.utf8))
        #expect(json["name"] == .string("HTTP Server"))
        #expect(json["issuer"] == .string(account.publicKey.encoded))
        #expect(json["service"] == .string(service.publicKey.encoded))
        #expect(json["vendor"] == .string("acme"))
        #expect(json["version"] == .string("0.23.0"))
        // wash's types: revision as a string, and success.
        #expect(json["revision"] == .string("4"))
        #expect(json["success"] == .bool(true))
        #expect(json["targets"] == .array([.string("x86_64-linux")]))
        #expect(json["schema"]?["type"] == .string("object"))
        #expect(json["verified"] == .bool(true))
        #expect(json["target_details"]?["x86_64-linux"]?["size"] == .number("2000000"))
    }

    /// `verify` and `extract` of the archive once the macOS binary is inserted.
    private func expectVerifiedAndExtracted(_ archive: String, in work: Workspace, account: NKeyPair) throws {
        let verified = try work.par(["verify", archive, "--trusted-issuer", account.publicKey.encoded, "--target", "aarch64-macos", "--target", "x86_64-linux"])
        #expect(verified.status == 0, "\(verified.error)")
        #expect(verified.output.hasPrefix("\(archive): valid"))

        let extracted = try work.par(["extract", archive, "--target", "aarch64-macos", "--destination", "mac.bin"])
        #expect(extracted.status == 0, "\(extracted.error)")
        #expect(try work.read("mac.bin") == pattern(4000, seed: 5))
        let mode = try FileManager.default.attributesOfItem(atPath: work.path("mac.bin"))[.posixPermissions] as? Int
        #expect(mode == 0o755 & ~umaskValue())
        let native = try work.par(["extract", archive])
        #expect(native.status == 0, "\(native.error)")
        #expect(try work.read("http-server-\(Target.native.name)") == pattern(2_000_000))
    }

    @Test func severalTargetsAtOnceAndKeysFromFlagsAndEnvironment() throws {
        let work = try Workspace()
        try work.write(pattern(1000), to: "linux")
        try work.write(pattern(1000, seed: 2), to: "mac")
        try work.write(pattern(1000, seed: 3), to: "windows")
        let account = NKeyPair.generate(role: .account)
        let service = NKeyPair.generate(role: .service)
        try work.write(Array(service.seed.utf8), to: "service.nk")
        let created = try work.par(
            ["create", "-n", "multi", "-v", "v", "-b", "linux", "-a", "x86_64-linux", "-b", "mac", "-a", "aarch64-macos",
             "--binary", "windows", "--arch", "x86_64-windows", "-s", "service.nk", "--destination", "out/multi.par", "-o", "json"],
            environment: ["WASH_ISSUER_KEY": account.seed])
        #expect(created.status == 1)  // out/ does not exist yet
        try FileManager.default.createDirectory(atPath: work.path("out"), withIntermediateDirectories: true)
        let again = try work.par(
            ["create", "-n", "multi", "-v", "v", "-b", "linux", "-a", "x86_64-linux", "-b", "mac", "-a", "aarch64-macos",
             "--binary", "windows", "--arch", "x86_64-windows", "-s", "service.nk", "--destination", "out/multi.par", "-o", "json"],
            environment: ["WASH_ISSUER_KEY": account.seed])
        #expect(again.status == 0, "\(again.error)")
        #expect(again.error.isEmpty)  // no key was generated
        let json = try JSONValue(parsing: Array(again.output.utf8))
        #expect(json["targets"] == .array([.string("aarch64-macos"), .string("x86_64-linux"), .string("x86_64-windows")]))
        let check = try ExternalTools.runParcheck([
            "verify", work.path("out/multi.par"), "--issuer", account.publicKey.encoded, "--subject", service.publicKey.encoded,
            "--target", "x86_64-linux", "--target", "aarch64-macos", "--target", "x86_64-windows",
        ])
        #expect(check.status == 0, "\(check.output)")
        #expect(!work.exists("keys"))
    }

    @Test func archivesShapedLikeTheRustCratesInspectAndExtract() throws {
        let work = try Workspace()
        try work.write(pattern(5000), to: "bin")
        let account = NKeyPair.generate(role: .account)
        let made = try ExternalTools.runParcheck([
            "make", work.path("ref.par.gz"), "--name", "Ref", "--vendor", "wasmcloud", "--lib", "x86_64-linux=\(work.path("bin"))",
            "--gzip", "--issuer-seed", account.seed,
        ])
        #expect(made.status == 0)
        #expect(try work.par(["verify", "ref.par.gz", "--trusted-issuer", account.publicKey.encoded]).status == 0)
        #expect(try work.par(["extract", "ref.par.gz", "-t", "x86_64-linux", "--destination", "x"]).status == 0)
        #expect(try work.read("x") == pattern(5000))
    }
}

@Suite struct KeysCommandTests {
    @Test func generatedKeysLoadInNatsNKeys() throws {
        let work = try Workspace()
        for role in ["account", "service", "user"] {
            let result = try work.par(["keys", "generate", role, "--name", "alice", "-o", "json"])
            #expect(result.status == 0, "\(result.error)")
            let json = try JSONValue(parsing: Array(result.output.utf8))
            guard case .string(let publicKey)? = json["public_key"] else {
                Issue.record("no public key in \(result.output)")
                continue
            }
            let file = work.path("keys/alice_\(role).nk")
            #expect(json["path"] == .string(file))
            let seed = String(decoding: try work.read("keys/alice_\(role).nk"), as: UTF8.self)
            #expect(try ExternalTools.runParcheck(["pubkey", seed]).line == publicKey)
            let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
            #expect(mode == 0o600)
            #expect(!result.output.contains(seed))
        }
        let listed = try work.par(["keys", "list"])
        // A header, then one line per key, named as keys get and keys show take them.
        #expect(listed.output.split(separator: "\n").count == 4)
        #expect(listed.output.contains("alice_service"))
        let shown = try work.par(["keys", "show", "alice_service"])
        #expect(shown.status == 0)
        #expect(shown.output.contains("Role:       service"))
        #expect(!shown.output.contains("Seed"))
        #expect(try work.par(["keys", "show", "alice_service", "--seed"]).output.contains("SV"))

        expectFailure(try work.par(["keys", "generate", "account", "--name", "alice"]), saying: "already exists")
        expectUsageError(try work.par(["keys", "generate", "wizard"]), saying: "unknown key type")
        expectFailure(try work.par(["keys", "show", "bob_account"]), saying: "no key named bob_account")
    }
}

func umaskValue() -> Int {
    let old = umask(0o022)
    umask(old)
    return Int(old)
}

/// Progress goes to a terminal only, never into pipes or JSON.
@Suite struct ProgressTests {
    @Test func progressShowsOnATerminalOnly() throws {
        let work = try Workspace()
        try work.write(pattern(3_000_000), to: "big")
        #expect(try work.par(["create", "-n", "p", "-v", "v", "-b", "big", "--compress"]).status == 0)

        let piped = try work.par(["verify", "big.par.gz"])
        #expect(piped.status == 0)
        #expect(piped.error.isEmpty)

        // `script` gives the command a pseudo-terminal, as a person's shell would.
        let onTerminal = try ExternalTools.run(["script", "-qec", "\(parExecutable) verify big.par.gz", "/dev/null"], directory: work.directory)
        #expect(onTerminal.status == 0)
        #expect(onTerminal.output.contains("verifying 100%"))
        #expect(onTerminal.output.contains("big.par.gz: valid"))
        let json = try ExternalTools.run(["script", "-qec", "\(parExecutable) verify big.par.gz -o json", "/dev/null"], directory: work.directory)
        #expect(!json.output.contains("verifying"))
        #expect(json.output.contains(#""valid":true"#))
    }
}
