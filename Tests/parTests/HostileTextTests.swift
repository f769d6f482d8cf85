import Foundation
import PARTestSupport
import PARBytes
import PARClaims
import PARNKeys
import ProviderArchiveKit
import Testing

/// Text from an archive, a registry, a file name or an argument reaches the terminal with
/// its control characters escaped: an error is one line, nothing moves the cursor or hides
/// a row, no seed is echoed, and a path that is not UTF-8 never becomes another file's name.
@Suite struct HostileTextTests: ProviderSetupSuite {
    let setup: ProviderSetup

    init() throws {
        setup = try ProviderSetup(binarySize: 5000)
    }

    /// No escape, no other C0 or C1 control character but the line ends, anywhere.
    func expectNoControlCharacters(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let bad = text.unicodeScalars.filter { ($0.value < 0x20 && $0 != "\n") || (0x7F...0x9F).contains($0.value) }
        #expect(bad.isEmpty, "control characters \(bad.map(\.value)) in \(text.debugDescription)", sourceLocation: sourceLocation)
    }

    @Test func anEntryNameWithEscapesIsOneEscapedLine() throws {
        let name = "evil\n\u{1B}[2K\u{1B}[1Aok.bin"
        try work.write(CraftedTar.entry(name: name, content: [1, 2, 3]) + CraftedTar.end, to: "evil.par")
        for command in [["verify", "evil.par"], ["extract", "evil.par"], ["inspect", "evil.par"]] {
            let result = try work.par(command)
            #expect(result.status == 1)
            #expect(result.error.split(separator: "\n").count == 1, "\(command): \(result.error.debugDescription)")
            expectNoControlCharacters(result.error + result.output)
        }
        #expect(try work.par(["verify", "evil.par"]).error.contains(#"evil\n\x1b[2K\x1b[1Aok.bin"#))
    }

    @Test func aHostileVendorCannotHideTheFailedVerificationRow() throws {
        let vendor = "acme\u{1B}[8m\u{1B}[2K"
        let created = try work.par([
            "create", "-n", "Evil\u{1B}[1A", "-v", vendor, "--version", "1.0\u{1B}[31m\r", "-b", "provider", "-i", account.seed,
            "-s", service.seed,
        ])
        #expect(created.status == 0, "\(created.error)")
        // Change one byte of the binary: the claims no longer match, the archive is unverified.
        var bytes = try work.read("provider.par")
        bytes[bytes.count - 1024 - 512 - 100] ^= 0xFF
        try work.write(bytes, to: "provider.par")
        let inspected = try work.par(["inspect", "provider.par"])
        #expect(inspected.status == 1)
        expectNoControlCharacters(inspected.output + inspected.error)
        #expect(inspected.output.contains(#"acme\x1b[8m\x1b[2K"#))
        #expect(inspected.output.contains("Verification    FAILED"))
        #expect(inspected.output.contains(#"Version         1.0\x1b[31m\r"#))
        #expect(inspected.output.hasPrefix(#"Evil\x1b[1A - Provider Archive"#))
        // JSON stays exact: JSON escaping already keeps the bytes out of the terminal.
        let json = try work.par(["inspect", "provider.par", "-o", "json"])
        #expect(try JSONValue(parsing: Array(json.error.utf8))["unverified_claims"]?["vendor"] == .string(vendor))
    }

    @Test func aRegistrysErrorBodyIsOneEscapedLine() throws {
        #expect(try work.par(["create", "-n", "p", "-v", "v", "-b", "provider", "--compress"]).status == 0)
        let registry = try BadRegistry("hostile-error", blob: work.path("provider.par.gz"))
        let result = try work.par(["pull", "\(registry.address)/bad/provider:1.0.0", "--insecure", "--destination", "p.par.gz"])
        // The raw byte 0x9b is not UTF-8: it arrives as U+FFFD, harmless.
        expectFailure(result, saying: #"oops\n\x1b[2K\x1b[1Aall good \x1b[8mhidden\#u{FFFD}"#)
        expectNoControlCharacters(result.error)
    }

    @Test func seedsAreNeverEchoed() throws {
        for command in [["keys", "get", account.seed], ["keys", "show", account.seed], ["inspect", account.seed], ["verify", account.seed]] {
            let result = try work.par(command)
            #expect(result.status == 1)
            #expect(!result.error.contains(account.seed) && !result.output.contains(account.seed), "\(command): \(result.error)")
            let json = try work.par(command + ["-o", "json"])
            #expect(!json.error.contains(account.seed), "\(command): \(json.error)")
        }
    }

    @Test func pathsThatAreNotUTF8AreRefusedNotRenamed() throws {
        let folder = URL(fileURLWithPath: parExecutable).deletingLastPathComponent().path
        var environment = work.environment()
        environment["PATH"] = folder + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        #expect(try work.par(["create", "-n", "p", "-v", "v", "-b", "provider"]).status == 0)
        // The file Swift would have made of \xfe: U+FFFD. It must stay as it is.
        try work.write(Array("precious".utf8), to: "\u{FFFD}out")
        let lines = [
            #"par extract provider.par --destination "$(printf '\376out')""#,
            #"printf x > "$(printf '\377\376.par')"; par inspect "$(printf '\377\376.par')""#,
        ]
        for line in lines {
            let result = try ExternalTools.run(["sh", "-c", line], directory: work.directory, environment: environment)
            #expect(result.status == 1, "\(line): \(result.error)")
            #expect(result.error.split(separator: "\n").count == 1, "\(result.error)")
            #expect(result.error.contains("is not valid UTF-8"), "\(result.error)")
            expectNoControlCharacters(result.error)
        }
        #expect(try work.read("\u{FFFD}out") == Array("precious".utf8))
    }
}
