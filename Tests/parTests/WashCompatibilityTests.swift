import Foundation
import PARTestSupport
import PARBytes
import PARClaims
import PARNKeys
import ProviderArchiveKit
import Testing

/// `par` run with wash 0.43's command lines, from its docs and examples: the same flags,
/// environment variables, key folders and JSON, so scripts written for wash keep working.
@Suite struct WashCompatibilityTests {
    let work: Workspace

    init() throws {
        work = try Workspace()
        try work.write(pattern(20_000), to: "provider")
    }

    /// Runs a shell line here, as a script would, with `par` on the PATH.
    func shell(_ line: String, environment: [String: String] = [:]) throws -> ToolResult {
        let folder = URL(fileURLWithPath: parExecutable).deletingLastPathComponent().path
        var env = work.environment(environment)
        env["PATH"] = folder + ":" + (env["PATH"] ?? "/usr/bin:/bin")
        return try ExternalTools.run(["sh", "-c", line], directory: work.directory, environment: env)
    }

    @Test func inspectJSONHasWashsKeysAndTypes() throws {
        #expect(try work.par(["create", "-n", "Demo", "-v", "acme", "-r", "4", "--version", "1.2.3", "-b", "provider"]).status == 0)
        // -o before the subcommand, as wash's global flag, and after it.
        let revision = try shell("par -o json inspect provider.par | jq -r .revision")
        #expect(revision.line == "4", "\(revision.error)")
        #expect(try shell("par inspect provider.par -o json | jq -r .success").line == "true")
        let json = try JSONValue(parsing: Array(try work.par(["-o", "json", "inspect", "provider.par"]).output.utf8))
        for (key, value) in [("name", "Demo"), ("vendor", "acme"), ("version", "1.2.3"), ("revision", "4")] {
            #expect(json[key] == .string(value), "\(key)")
        }
        #expect(json["targets"] == .array([.string(Target.native.name)]))

        // Absent values are "None", as wash writes them; a negative revision is a value.
        #expect(try work.par(["create", "-n", "Bare", "-v", "acme", "-b", "provider", "--destination", "bare.par"]).status == 0)
        let bare = try JSONValue(parsing: Array(try work.par(["inspect", "bare.par", "-o", "json"]).output.utf8))
        #expect(bare["version"] == .string("None") && bare["revision"] == .string("None"))
        #expect(try work.par(["create", "-n", "Neg", "-v", "acme", "-r", "-1", "-b", "provider", "--destination", "neg.par"]).status == 0)
        #expect(try shell("par inspect neg.par -o json | jq -r .revision").line == "-1")

        // --jwt-only prints the raw claims.jwt.
        let token = try work.par(["inspect", "provider.par", "--jwt-only"])
        let stored = try ExternalTools.run(["tar", "-xOf", work.path("provider.par"), "claims.jwt"])
        #expect(token.output == stored.output + "\n")
    }

    @Test func createAndInsertAnswerWithFileAndSuccess() throws {
        let created = try JSONValue(parsing: Array(try work.par(["create", "-n", "p", "-v", "v", "-b", "provider", "-o", "json"]).output.utf8))
        #expect(created["file"] == .string("./provider.par") && created["success"] == .bool(true))
        try work.write(pattern(100, seed: 3), to: "mac")
        let inserted = try JSONValue(parsing: Array(try work.par(["insert", "provider.par", "-b", "mac", "-a", "aarch64-macos", "-o", "json"]).output.utf8))
        #expect(inserted["file"] == .string("provider.par") && inserted["success"] == .bool(true))
        // The provider's --version and par's own are not confused.
        let help = try work.par(["create", "--help"]).output
        #expect(help.components(separatedBy: "--version").count == 2, "\(help)")
        #expect(try work.par(["--version"]).output.hasPrefix("par "))
        // Which library inflates gzip: ISA-L where libisal.so.2 loads, unless PAR_INFLATE=zlib.
        let version = try work.par(["--version"]).output
        #expect(version.contains("(inflate: ISA-L)") || version.contains("(inflate: zlib)"), "\(version)")
        #expect(try work.par(["--version"], environment: ["PAR_INFLATE": "zlib"]).output.contains("(inflate: zlib)"))
    }

    @Test func keysGenGetAndListAsWashHasThem() throws {
        #expect(try work.par(["create", "-n", "p", "-v", "v", "-b", "provider"]).status == 0)
        // SEED=$(wash keys get alice_account): the seed alone.
        let seed = try shell(#"SEED=$(par keys get tester_account) && printf '%s' "$SEED""#)
        let saved = String(decoding: try work.read("keys/tester_account.nk"), as: UTF8.self)
        #expect(seed.output == saved)
        #expect(try work.par(["keys", "get", "tester_account.nk"]).output == saved + "\n")
        let listed = try JSONValue(parsing: Array(try work.par(["keys", "list", "-o", "json"]).output.utf8))
        #expect(listed["keys"] == .array([.string("provider_service"), .string("tester_account")]))
        #expect(try work.par(["keys", "show", "provider_service"]).output.contains("Role:       service"))

        for (type, prefix) in [("provider", "V"), ("service", "V"), ("component", "M"), ("host", "N"), ("account", "A"), ("x25519", "X")] {
            let generated = try JSONValue(parsing: Array(try work.par(["keys", "gen", type, "-o", "json"]).output.utf8))
            guard case .string(let publicKey)? = generated["public_key"], case .string(let seed)? = generated["seed"] else {
                Issue.record("keys gen \(type): \(generated)")
                continue
            }
            #expect(publicKey.hasPrefix(prefix) && seed.hasPrefix("S" + prefix), "\(type)")
            #expect(try NKeyPair(seed: seed).publicKey.encoded == publicKey)
        }
        // gen saves nothing.
        #expect(try FileManager.default.contentsOfDirectory(atPath: work.keys).sorted() == ["provider_service.nk", "tester_account.nk"])
    }

    @Test func curveKeysAreRealX25519Keys() throws {
        let generated = try JSONValue(parsing: Array(try work.par(["keys", "gen", "curve", "-o", "json"]).output.utf8))
        guard case .string(let seed)? = generated["seed"], case .string(let publicKey)? = generated["public_key"] else {
            Issue.record("no key")
            return
        }
        // PyNaCl computes the X25519 public key of the raw seed, independently.
        let key = try NKeyPublicKey(publicKey)
        #expect(key.rawRepresentation.map { String(format: "%02x", $0) }.joined() == (try ExternalTools.x25519PublicKeyHex(ofSeed: seed)))
    }

    @Test func keyFoldersAreFoundWhereEveryWashPutsThem() throws {
        let home = work.path("home")
        try FileManager.default.createDirectory(atPath: home + "/.wash/keys", withIntermediateDirectories: true)
        let old = NKeyPair.generate(role: .account)
        try work.write(Array(old.seed.utf8), to: "home/.wash/keys/tester_account.nk")
        var environment = ["HOME": home, "WASH_KEYS": ""]
        // wash <= 0.42's folder is found, and new keys go there while 0.43's does not exist.
        let created = try work.par(["create", "-n", "p", "-v", "v", "-b", "provider", "-o", "json"], environment: environment)
        #expect(created.status == 0, "\(created.error)")
        #expect(try ProviderArchive.verify(path: work.path("provider.par")).claims.issuer == old.publicKey)
        #expect(FileManager.default.fileExists(atPath: home + "/.wash/keys/provider_service.nk"))

        // wash 0.43's: WASH_KEYS_DIR, then $WASH_DATA_DIR/keys, then $XDG_DATA_HOME/wash/keys.
        for (variable, value, folder) in [
            ("WASH_KEYS_DIR", work.path("k1"), work.path("k1")), ("WASH_DATA_DIR", work.path("data"), work.path("data/keys")),
            ("XDG_DATA_HOME", work.path("xdg"), work.path("xdg/wash/keys")),
        ] {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let pair = NKeyPair.generate(role: .account)
            try work.write(Array(pair.seed.utf8), to: String(folder.dropFirst(work.directory.count + 1)) + "/tester_account.nk")
            environment[variable] = value
            #expect(try work.par(["create", "-n", "p", "-v", "v", "-b", "provider", "--destination", "\(variable).par"], environment: environment).status == 0)
            #expect(try ProviderArchive.verify(path: work.path("\(variable).par")).claims.issuer == pair.publicKey, "\(variable)")
            environment[variable] = nil
        }
        // -d, and WASH_KEYS, come first.
        #expect(try work.par(["keys", "list", "-d", work.path("k1"), "-o", "json"]).output.contains("tester_account"))
    }

    @Test func theSchemaAndRegistryComeFromWashsEnvironmentVariables() throws {
        try work.write(Array(#"{"type":"object"}"#.utf8), to: "schema.json")
        #expect(try work.par(["create", "-n", "p", "-v", "v", "-b", "provider"], environment: ["WASH_JSON_SCHEMA": work.path("schema.json")]).status == 0)
        let json = try JSONValue(parsing: Array(try work.par(["inspect", "provider.par", "-o", "json"]).output.utf8))
        #expect(json["schema"] == .object([("type", .string("object"))]))
        // WIT_DIR as wash reads it (WITTests checks the world it encodes).
        let witDir = Fixtures.path("wit/provider")
        #expect(try work.par(["create", "-n", "p", "-v", "v", "-b", "provider"], environment: ["WIT_DIR": witDir]).status == 0)
        #expect(try work.par(["inspect", "provider.par", "--wit"]).output.contains("world provider"))
    }

    @Test func pushAndPullTakeWashsFlags() throws {
        let registry = try LocalRegistry.anonymous.get()
        #expect(try work.par(["create", "-n", "p", "-v", "v", "-b", "provider", "--compress"]).status == 0)
        try work.write(Array(#"{"kind":"provider"}"#.utf8), to: "config.json")
        // Uppercase is lowercased, as wash does; -r gives the registry for a short URL.
        let pushed = try work.par([
            "push", "Providers/Flags:1.0.0", "provider.par.gz", "-r", registry.address, "--insecure", "-a", "team=edge",
            "-c", "config.json", "--monolithic-push", "-o", "json",
        ])
        #expect(pushed.status == 0, "\(pushed.error)")
        let answer = try JSONValue(parsing: Array(pushed.output.utf8))
        #expect(answer["url"] == .string("\(registry.address)/providers/flags:1.0.0"))
        #expect(answer["tag"] == .string("1.0.0") && answer["success"] == .bool(true))
        guard case .string(let digest)? = answer["digest"] else {
            Issue.record("no digest")
            return
        }
        let manifest = try ExternalTools.run(["skopeo", "inspect", "--raw", "--tls-verify=false", "docker://\(registry.address)/providers/flags:1.0.0"])
        let parsed = try JSONValue(parsing: manifest.outputBytes)
        #expect(parsed["annotations"]?["team"] == .string("edge"))
        #expect(parsed["config"]?["size"] == .number("19"))

        // -d pins the digest; a wrong one fails and writes nothing.
        let pulled = try work.par(["pull", "providers/flags:1.0.0", "-d", digest, "--destination", "pinned.par.gz", "--insecure", "-o", "json"],
                                  environment: ["WASH_REG_URL": registry.address])
        #expect(pulled.status == 0, "\(pulled.error)")
        #expect(try JSONValue(parsing: Array(pulled.output.utf8))["file"] == .string("pinned.par.gz"))
        // wash's long flag for the registry is --registry.
        let long = try work.par(["pull", "providers/flags:1.0.0", "--registry", registry.address, "--destination", "long.par.gz", "--insecure"])
        #expect(long.status == 0, "\(long.error)")
        let wrong = "sha256:" + String(repeating: "0", count: 64)
        let refused = try work.par(["pull", "\(registry.address)/providers/flags:1.0.0", "-d", wrong, "--destination", "wrong.par.gz", "--insecure"])
        expectFailure(refused, saying: "not the expected \(wrong)")
        #expect(!work.exists("wrong.par.gz"))
        #expect(try work.par(["inspect", "\(registry.address)/providers/flags:1.0.0", "-d", digest, "--insecure"]).status == 0)
    }

    @Test func everyJSONFailureSaysSuccessFalseOnStandardError() throws {
        #expect(try work.par(["create", "-n", "p", "-v", "v", "-b", "provider"]).status == 0)
        for command in [
            ["inspect", "missing.par"], ["verify", "missing.par"], ["keys", "get", "nobody"], ["create", "-n", "p", "-v", "v", "-b", "nope"],
            ["extract", "provider.par", "--target", "aarch64-macos"], ["pull", "localhost:1/a:1", "--insecure"],
            ["insert", "provider.par", "-b", "missing"],
        ] {
            for placement in [["-o", "json"] + command, command + ["-o", "json"]] {
                let result = try work.par(placement)
                #expect(result.status == 1, "\(placement)")
                #expect(result.output.isEmpty, "\(placement): \(result.output)")
                let json = try? JSONValue(parsing: Array(result.error.utf8))
                #expect(json?["success"] == .bool(false), "\(placement): \(result.error)")
                if case .string(let message)? = json?["error"] { #expect(!message.isEmpty) } else { Issue.record("no error in \(result.error)") }
            }
        }
    }
}
