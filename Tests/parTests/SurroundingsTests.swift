import Foundation
import PARBytes
import PARClaims
import PARNKeys
import PARTestSupport
import ProviderArchiveKit
import Testing

/// What surrounds `par` cannot make it lie, crash or grow: closed and full standard streams,
/// destinations that are not files, resource limits, inputs that never end, archives at the
/// entry limit, and text that would reorder a terminal. Each case runs the built `par` in a
/// process of its own and checks its exit code, that it said one line, that it left nothing
/// behind, and its peak RSS.
@Suite struct SurroundingsTests: ProviderSetupSuite {
    static let memoryBound = 64 << 20
    let setup: ProviderSetup

    init() throws {
        setup = try ProviderSetup(binarySize: 2_000_000)
        let created = try work.par(["create", "-n", "p", "-v", "v", "-b", "provider", "--destination", "a.par"] + keys)
        #expect(created.status == 0, "\(created.error)")
    }

    var keys: [String] { ["-i", account.seed, "-s", service.seed] }

    /// Expects a failure said in one line holding `words`, in bounded memory, with no
    /// temporary file left.
    func expectRefused(
        _ measured: (result: ParResult, rss: Int), saying words: String, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        expectFailure(measured.result, saying: words, sourceLocation: sourceLocation)
        #expect(measured.rss < Self.memoryBound, "peak RSS \(measured.rss >> 20) MiB", sourceLocation: sourceLocation)
        #expect(try work.leftovers().isEmpty, "temporary files left", sourceLocation: sourceLocation)
    }

    // MARK: - Standard streams

    @Test func aClosedStandardErrorIsNeitherACrashNorAFileDescriptorForTheArchive() throws {
        let missing = try work.measure(["verify", "/missing"], redirections: "2>&-")
        #expect(missing.result.status == 1, "status \(missing.result.status)")
        // The key notes go to the closed stderr; the archive must not take its descriptor.
        let created = try work.measure(["create", "-n", "p", "-v", "v", "-b", "provider", "--destination", "b.par"], redirections: "2>&-")
        #expect(created.result.status == 0)
        #expect(try ProviderArchive.verify(path: work.path("b.par")).targets.count == 1)
        #expect(try work.par(["verify", "b.par"]).status == 0)
    }

    @Test func aResultThatCannotBeWrittenIsAFailure() throws {
        try expectRefused(try work.measure(["keys", "gen", "account"], redirections: ">/dev/full"), saying: "the disk is full")
        try expectRefused(try work.measure(["keys", "gen", "account", "-o", "json"], redirections: ">/dev/full"), saying: "standard output")
        try expectRefused(try work.measure(["inspect", "a.par"], redirections: ">/dev/full"), saying: "the disk is full")
        // A closed standard output is /dev/null: the command still runs, and says nothing false.
        let closed = try work.measure(["keys", "gen", "account"], redirections: ">&-")
        #expect(closed.result.status == 0)
    }

    @Test func aClosedStandardInputHoldsNoPassword() throws {
        let result = try work.measure(
            ["pull", "127.0.0.1:9/p/q:1", "--insecure", "-u", "u", "--password-stdin"], redirections: "<&-")
        try expectRefused(result, saying: "standard input holds no password")
    }

    // MARK: - Destinations that are not files

    /// A character device in the scratch folder: a real node where the system lets root make
    /// one, else a link to /dev/null (refused the same way: the link is followed).
    func characterDevice(named name: String) throws -> String {
        let path = work.path(name)
        // Device 1,3 (null): makedev(1, 3) is (1 << 8) | 3 for small numbers.
        if mknod(path, S_IFCHR | 0o666, dev_t((1 << 8) | 3)) != 0 {
            try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: "/dev/null")
        }
        return path
    }

    @Test func devicesFifosAndFoldersAreNeverReplaced() throws {
        let device = try characterDevice(named: "device")
        #expect(mkfifo(work.path("fifo"), 0o600) == 0)
        try FileManager.default.createDirectory(atPath: work.path("folder"), withIntermediateDirectories: false)
        for (name, kind) in [("device", "a character device"), ("fifo", "a pipe"), ("folder", "a directory")] {
            try expectRefused(
                try work.measure(["extract", "a.par", "--destination", name], seconds: 30), saying: "it is \(kind), not a regular file")
            try expectRefused(
                try work.measure(["create", "-n", "p", "-v", "v", "-b", "provider", "--destination", name] + keys, seconds: 30),
                saying: "it is \(kind), not a regular file")
        }
        var status = stat()
        #expect(stat(device, &status) == 0 && status.st_mode & S_IFMT == S_IFCHR)
        #expect(lstat(work.path("fifo"), &status) == 0 && status.st_mode & S_IFMT == S_IFIFO)
    }

    @Test func onlyRegularFilesAreUpdatedAndOnlyBoundedStreamsRead() throws {
        _ = try characterDevice(named: "device")
        #expect(mkfifo(work.path("fifo"), 0o600) == 0)
        try expectRefused(try work.measure(["insert", "device", "-b", "provider"] + keys, seconds: 30), saying: "it is a character device")
        try expectRefused(try work.measure(["insert", "fifo", "-b", "provider"] + keys, seconds: 30), saying: "it is a pipe")
        for command in ["verify", "inspect", "extract"] {
            try expectRefused(try work.measure([command, "/dev/zero"], seconds: 30), saying: "it is a character device")
        }
    }

    // MARK: - Resource limits

    @Test func pastTheFileSizeLimitWritesFailCleanlyNamingTheDestination() throws {
        let limit = "ulimit -f 500"  // 500 KiB, for a 2 MB binary
        try expectRefused(
            try work.measure(["create", "-n", "p", "-v", "v", "-b", "provider", "--destination", "big.par"] + keys, before: limit),
            saying: "cannot write big.par: the file would be larger than this process may write (ulimit -f)")
        try expectRefused(
            try work.measure(["extract", "a.par", "--destination", "out.bin"], before: limit), saying: "cannot write out.bin")
        try work.write(pattern(1_000_000, seed: 9), to: "mac")
        let before = try work.read("a.par")
        try expectRefused(
            try work.measure(["insert", "a.par", "-b", "mac", "-a", "aarch64-macos"] + keys, before: limit),
            saying: "ulimit -f")
        #expect(try work.read("a.par") == before)
        #expect(!work.exists("big.par") && !work.exists("out.bin"))
    }

    @Test(.enabled(if: getuid() == 0, "mounting a small tmpfs needs root"))
    func aFullDiskSaysSoAndNamesTheDestination() throws {
        let disk = work.path("disk")
        try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: false)
        let mounted = try ExternalTools.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", disk])
        guard mounted.status == 0 else {
            // Containers may forbid mounting even to root: nothing to test then.
            print("skipped: cannot mount a tmpfs here (\(mounted.line))")
            return
        }
        defer { _ = try? ExternalTools.run(["umount", disk]) }
        try expectRefused(
            try work.measure(["create", "-n", "p", "-v", "v", "-b", "provider", "--destination", "disk/a.par"] + keys),
            saying: "cannot write disk/a.par: the disk is full")
        #expect(try work.leftovers(in: disk).isEmpty)
        // A key file on a full disk: the disk is named as the problem, not permissions.
        try FileManager.default.createDirectory(atPath: disk + "/keys", withIntermediateDirectories: false)
        _ = try ExternalTools.run(["dd", "if=/dev/zero", "of=\(disk)/filler", "bs=4k", "count=200"])
        let key = try work.measure(["keys", "generate", "account", "--name", "ci", "-d", "disk/keys"])
        expectFailure(key.result, saying: "the disk is full")
        #expect(!key.result.error.contains("permission"))
    }

    // MARK: - Inputs that never end

    @Test func endlessInputsAreCutShortInBoundedMemory() throws {
        let create = ["create", "-n", "p", "-v", "v", "-b", "provider", "--destination", "z.par"] + keys
        try expectRefused(try work.measure(create + ["-j", "/dev/zero"]), saying: "--schema /dev/zero is larger than")
        try expectRefused(try work.measure(create + ["--wit-world", "/dev/zero"]), saying: "--wit-world /dev/zero is larger than")
        try expectRefused(
            try work.measure(["create", "-n", "p", "-v", "v", "-b", "provider", "-i", "/dev/zero", "-s", service.seed]),
            saying: "larger than 4096 bytes")
        try expectRefused(try work.measure(["keys", "show", "/dev/zero"]), saying: "larger than 4096 bytes")
        try expectRefused(
            try work.measure(["push", "127.0.0.1:9/p/q:1", "a.par", "--insecure", "-c", "/dev/zero"]), saying: "--config /dev/zero is larger than")
        try expectRefused(
            try work.measure(["pull", "127.0.0.1:9/p/q:1", "--insecure", "-u", "u", "--password-stdin"], redirections: "</dev/zero"),
            saying: "more than 64 KiB")
        try expectRefused(try work.measure(["pull", "127.0.0.1:9/p/q:1", "--ca-file", "/dev/zero"]), saying: "more than a CA bundle")
        #expect(!work.exists("z.par"))
    }

    @Test func aHugeFileInTheKeyDirectoryIsSkippedUnread() throws {
        let folder = work.path("keys")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        #expect(try work.par(["keys", "generate", "account", "--name", "alice"]).status == 0)
        #expect(FileManager.default.createFile(atPath: folder + "/huge_account.nk", contents: nil))
        let handle = try #require(FileHandle(forWritingAtPath: folder + "/huge_account.nk"))
        try handle.truncate(atOffset: 300_000_000)
        try handle.close()
        let listed = try work.measure(["keys", "list"])
        #expect(listed.result.status == 0)
        #expect(listed.result.output.contains("alice_account") && !listed.result.output.contains("huge_account"))
        #expect(listed.rss < Self.memoryBound, "peak RSS \(listed.rss >> 20) MiB")
    }

    // MARK: - The entry limit, when writing

    @Test func createAndInsertNeverWriteMoreTargetsThanAReaderAccepts() throws {
        let limit = 1023  // 1024 entries: claims.jwt and 1023 binaries
        let targets = (0...limit).map { "arch\($0)-linux" }
        let folder = work.path("bins")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        for (index, _) in targets.enumerated() { try work.write([UInt8(truncatingIfNeeded: index)], to: "bins/\(index)") }
        func pairs(_ count: Int) -> [String] {
            (0..<count).flatMap { ["-b", "bins/\($0)", "-a", targets[$0]] }
        }
        let refused = try work.measure(["create", "-n", "p", "-v", "v", "--destination", "many.par"] + pairs(limit + 1) + keys)
        try expectRefused(refused, saying: "1024 targets are more than the 1023 a provider archive may hold")
        #expect(!work.exists("many.par"))

        let started = Date()
        let created = try work.measure(["create", "-n", "p", "-v", "v", "--destination", "many.par"] + pairs(limit) + keys)
        #expect(created.result.status == 0, "\(created.result.error)")
        #expect(Date().timeIntervalSince(started) < 30, "creating \(limit) targets took \(Date().timeIntervalSince(started)) s")
        #expect(try work.par(["verify", "many.par"]).status == 0)
        let before = try work.read("many.par")
        try expectRefused(
            try work.measure(["insert", "many.par", "-b", "bins/\(limit)", "-a", targets[limit]] + keys),
            saying: "1024 targets are more than the 1023")
        #expect(try work.read("many.par") == before)
    }

    // MARK: - Text

    @Test(arguments: ["\u{202E}", "\u{2028}", "\u{2029}", "\u{FEFF}", "\u{200B}", "\u{2066}", "\u{061C}"])
    func charactersThatReorderOrHideTextAreEscaped(character: String) throws {
        let name = "evil\(character)name"
        let created = try work.par(
            ["create", "-n", name, "-v", "v\(character)", "--version", "1\(character)", "-b", "provider", "--destination", "u.par"] + keys)
        #expect(created.status == 0, "\(created.error)")
        let shown = try work.par(["inspect", "u.par"])
        #expect(shown.status == 0)
        #expect(!shown.output.contains(character), "inspect shows a raw U+\(String(character.unicodeScalars.first!.value, radix: 16))")
        #expect(shown.output.contains("evil\\u{"))
        let failed = try work.par(["verify", "missing\(character).par"])
        expectFailure(failed, saying: "missing\\u{")
        #expect(!failed.error.contains(character))
    }

    @Test func keyNamesAreLettersDigitsDashesAndUnderscoresWhereverTheyEnter() throws {
        expectUsageError(try work.par(["keys", "generate", "account", "--name", "a\u{1B}[2Jb"]), saying: "is not a key name")
        let twoLines = try work.par(["keys", "generate", "account", "--name", "two\nlines"])
        expectUsageError(twoLines, saying: "is not a key name")
        // A value with a line break cannot forge a line in the parser's message either.
        #expect(twoLines.error.split(separator: "\n").count == 1, "\(twoLines.error)")
        let forged = try work.par(["verify", "a.par", "--target", "x\nerror: all is well"])
        expectUsageError(forged, saying: "is not a target name")
        #expect(forged.error.split(separator: "\n").count == 1, "\(forged.error)")
        expectFailure(
            try work.par(["create", "-n", "p", "-v", "v", "-b", "provider", "--destination", "k.par"], environment: ["USER": "a\u{1B}b"]),
            saying: "USER (a\\x1bb) is not a key name")
        // A file whose name is not a key name is not listed.
        #expect(try work.par(["keys", "generate", "account", "--name", "bob"]).status == 0)
        try FileManager.default.copyItem(atPath: work.keys + "/bob_account.nk", toPath: work.keys + "/evil\u{1B}]0;x\u{07}_account.nk")
        let listed = try work.par(["keys", "list"])
        #expect(listed.output.contains("bob_account") && !listed.output.contains("evil"))
        #expect(!work.exists("k.par"))
    }

    @Test func aSeedIsHiddenWhereverItSitsInAMessage() throws {
        let seed = account.seed
        for argument in ["\(seed)X", "/tmp/\(seed)", "prefix\(seed)", "\(seed)\(seed)"] {
            let result = try work.par(["inspect", argument])
            #expect(result.status == 1)
            #expect(!result.error.contains(seed), "\(argument): \(result.error)")
        }
    }

    // MARK: - Odd corners

    @Test func helpTakesTheGlobalOutputFlag() throws {
        let help = try work.par(["-o", "json", "help", "create"])
        #expect(help.status == 0, "\(help.error)")
        #expect(help.output.contains("USAGE: par create"))
    }

    @Test func aKeyDirectoryThatIsNotAFolderIsAnError() throws {
        try work.write([1], to: "not-a-folder")
        expectFailure(try work.par(["keys", "list"], environment: ["WASH_KEYS": work.path("not-a-folder")]), saying: "is not a folder")
        expectFailure(try work.par(["keys", "list", "-d", "not-a-folder"]), saying: "is not a folder")
    }
}
