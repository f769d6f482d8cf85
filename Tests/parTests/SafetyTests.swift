import Foundation
import PARTestSupport
import PARBytes
import PARClaims
import PARNKeys
import ProviderArchiveKit
import Testing

/// The built `par` under concurrency, signals and input that is not what it seems.
@Suite struct ConcurrentInsertTests {
    static let targets = [
        "aarch64-linux", "x86_64-macos", "aarch64-macos", "x86_64-windows", "aarch64-windows", "riscv64-linux",
        "x86_64-freebsd", "arm-linux",
    ]

    /// CI matrix builds insert one target each into one archive, at the same time: every
    /// target must be there afterwards, every time.
    @Test(arguments: [false, true])
    func eightParallelInsertsKeepEveryTarget(compress: Bool) throws {
        let account = NKeyPair.generate(role: .account)
        let service = NKeyPair.generate(role: .service)
        for round in 0..<5 {
            let work = try Workspace()
            try work.write(pattern(20_000), to: "provider")
            let created = try work.par([
                "create", "-n", "p", "-v", "v", "-b", "provider", "-a", "x86_64-linux", "--destination", "a.par",
                "-i", account.seed, "-s", service.seed,
            ] + (compress ? ["--compress"] : []))
            #expect(created.status == 0, "\(created.error)")
            let archive = compress ? "a.par.gz" : "a.par"
            for (index, target) in Self.targets.enumerated() {
                try work.write(pattern(30_000 + index, seed: UInt8(index + 2)), to: "bin-\(target)")
            }
            let running = try Self.targets.map { target in
                try work.start(["insert", archive, "-b", "bin-\(target)", "-a", target, "-i", account.seed, "-s", service.seed])
            }
            for (target, process) in zip(Self.targets, running) {
                let result = process.finish()
                #expect(result.status == 0, "round \(round), \(target): \(result.error)")
                // Only the waiting note may appear, never an error.
                #expect(result.error.split(separator: "\n").allSatisfy { $0.hasPrefix("waiting for another process") })
            }
            #expect(try work.par(["verify", archive]).status == 0)
            let loaded = try ProviderArchive.load(path: work.path(archive))
            #expect(loaded.targets.map(\.name).sorted() == (Self.targets + ["x86_64-linux"]).sorted(), "round \(round)")
            for (index, target) in Self.targets.enumerated() {
                #expect(loaded.binary(for: try Target(target)) == pattern(30_000 + index, seed: UInt8(index + 2)))
            }
            #expect(try work.files().filter { $0.hasPrefix(".par-") }.isEmpty)
        }
    }

    /// Two creates on an empty key directory race to generate the account key: both succeed,
    /// signing with the one key that was saved.
    @Test func racingKeyGenerationEndsWithOneKeyForBoth() throws {
        for _ in 0..<5 {
            let work = try Workspace()
            try work.write(pattern(1000), to: "one")
            try work.write(pattern(1000, seed: 2), to: "two")
            let first = try work.start(["create", "-n", "p", "-v", "v", "-b", "one"])
            let second = try work.start(["create", "-n", "p", "-v", "v", "-b", "two"])
            let results = [first.finish(), second.finish()]
            for result in results {
                #expect(result.status == 0, "\(result.error)")
                #expect(!result.error.contains("remove"))
            }
            let accounts = try FileManager.default.contentsOfDirectory(atPath: work.keys).filter { $0.hasSuffix("_account.nk") }
            #expect(accounts == ["tester_account.nk"])
            let key = try KeyDirectory(path: work.keys).load(name: "tester", role: .account)
            #expect(try ProviderArchive.verify(path: work.path("one.par")).claims.issuer == key?.publicKey)
            #expect(try ProviderArchive.verify(path: work.path("two.par")).claims.issuer == key?.publicKey)
        }
    }
}

@Suite struct InsertInPlaceTests: ProviderSetupSuite {
    let setup: ProviderSetup

    init() throws {
        setup = try ProviderSetup(binarySize: 10_000)
        try work.write(pattern(5_000, seed: 3), to: "mac")
        let created = try work.par(["create", "-n", "p", "-v", "v", "-b", "provider", "--destination", "a.par", "-i", account.seed, "-s", service.seed])
        #expect(created.status == 0, "\(created.error)")
    }

    func insert(_ archive: String) throws -> ParResult {
        try work.par(["insert", archive, "-b", "mac", "-a", "aarch64-macos", "-i", account.seed, "-s", service.seed])
    }

    @Test func modeAndOwnerAreKept() throws {
        let path = work.path("a.par")
        #expect(chmod(path, 0o600) == 0)
        #expect(chown(path, 1234, 5678) == 0 || getuid() != 0)
        var before = stat()
        #expect(stat(path, &before) == 0)
        #expect(try insert("a.par").status == 0)
        var after = stat()
        #expect(stat(path, &after) == 0)
        #expect(after.st_mode & 0o7777 == 0o600)
        #expect(after.st_uid == before.st_uid && after.st_gid == before.st_gid)
        #expect(after.st_ino != before.st_ino)
    }

    @Test func aSymlinkedArchiveIsUpdatedWhereTheLinkPoints() throws {
        try FileManager.default.createDirectory(atPath: work.path("store"), withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: work.path("a.par"), toPath: work.path("store/a.par"))
        try FileManager.default.createSymbolicLink(atPath: work.path("link.par"), withDestinationPath: "store/a.par")
        let result = try insert("link.par")
        #expect(result.status == 0, "\(result.error)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: work.path("link.par")) == "store/a.par")
        #expect(try ProviderArchive.load(path: work.path("store/a.par")).targets.map(\.name) == ["aarch64-macos", "x86_64-linux"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: work.path("store")) == ["a.par"])
    }
}

/// Inputs that cannot be read twice, outputs that would clobber inputs, names at the limit.
extension BadInputTests {
    @Test func pipesFifosAndStandardInputAreRefusedWithNothingWritten() throws {
        expectFailure(try create(["-b", "/dev/stdin", "--destination", "a.par"], input: pattern(5000)),
                      saying: "/dev/stdin is a pipe, not a regular file: write it to a file first")
        #expect(mkfifo(work.path("fifo"), 0o600) == 0)
        // With no writer: refused at once, never waiting for one.
        let fifo = try ExternalTools.run(
            ["timeout", "30", parExecutable, "create", "-n", "p", "-v", "v", "-i", account.seed, "-s", service.seed, "-b", "fifo"],
            directory: work.directory, environment: work.environment())
        expectFailure(fifo, saying: "fifo is a pipe, not a regular file")
        expectFailure(try create(["-b", "/dev/zero"]), saying: "/dev/zero is a character device, not a regular file")
        #expect(try work.files() == ["fifo", "provider"])
    }

    @Test func oversizedAndOverNestedSchemasAreRefusedBeforeWriting() throws {
        try work.write(Array(#"{"description":"\#(String(repeating: "x", count: 800_000))"}"#.utf8), to: "big.json")
        expectFailure(try create(["-b", "provider", "--schema", "big.json"]), saying: "more than the 1048576 a reader accepts")
        let nested = String(repeating: "[", count: 63) + String(repeating: "]", count: 63)
        try work.write(Array(nested.utf8), to: "deep.json")
        expectFailure(try create(["-b", "provider", "--schema", "deep.json"]), saying: "more than 64 levels deep")
        #expect(try work.files() == ["big.json", "deep.json", "provider"])
        // One level less is the deepest schema a reader accepts: written, and it verifies.
        try work.write(Array(String(nested.dropFirst().dropLast()).utf8), to: "deep.json")
        #expect(try create(["-b", "provider", "--schema", "deep.json"]).status == 0)
        #expect(try work.par(["verify", "provider.par"]).status == 0)
    }

    @Test(arguments: [250, 255])
    func longDestinationNamesWork(length: Int) throws {
        let name = String(repeating: "d", count: length - 4) + ".par"
        let result = try create(["-b", "provider", "--destination", name])
        #expect(result.status == 0, "\(result.error)")
        #expect(try work.par(["verify", name]).status == 0)
        #expect(try work.files() == [name, "provider"])
    }

    @Test func noOutputMayReplaceItsOwnInput() throws {
        expectFailure(try create(["-b", "provider", "--destination", "provider"]), saying: "is also an input")
        #expect(try work.read("provider") == pattern(10_000))
        #expect(try create(["-b", "provider", "--destination", "a.par"]).status == 0)
        let archive = try work.read("a.par")
        expectFailure(try work.par(["extract", "a.par", "--destination", "a.par"]), saying: "is also an input")
        try FileManager.default.createSymbolicLink(atPath: work.path("alias"), withDestinationPath: "a.par")
        expectFailure(try work.par(["extract", "a.par", "--destination", "alias"]), saying: "is also an input")
        expectFailure(try work.par(["insert", "a.par", "-b", "a.par", "-i", account.seed, "-s", service.seed]), saying: "is also an input")
        #expect(try work.read("a.par") == archive)
        #expect(try work.files() == ["a.par", "alias", "provider"])
    }
}

/// Archives crafted to trap the reader get one line and exit 1 from every command.
@Suite struct CraftedArchiveTests {
    @Test(arguments: [false, true])
    func everyCommandRefusesThemInOneLine(gzip: Bool) throws {
        let work = try Workspace()
        try work.write(pattern(100), to: "provider")
        let account = NKeyPair.generate(role: .account)
        let service = NKeyPair.generate(role: .service)
        for (name, plain) in CraftedTar.numberTraps {
            let file = name + (gzip ? ".par.gz" : ".par")
            let bytes = gzip ? try CraftedTar.gzip(plain) : plain
            try work.write(bytes, to: file)
            for command in [
                ["verify", file], ["inspect", file], ["extract", file, "--destination", "out"],
                ["insert", file, "-b", "provider", "-i", account.seed, "-s", service.seed],
            ] {
                let result = try work.par(command)
                expectFailure(result, saying: "tar header")
                #expect(!result.error.contains("Fatal error"), "\(command)")
            }
            #expect(try work.read(file) == bytes)
        }
        #expect(try work.files().allSatisfy { !$0.hasPrefix(".par-") && $0 != "out" })
    }
}

/// Termination signals in the middle of a write remove the temporary file, keep the old
/// archive, and end with 128 + the signal.
@Suite struct SignalTests {
    /// A 1 GiB binary of zeros (sparse: no disk, no time to make), slow enough to pack with
    /// gzip that a signal lands mid-write.
    func workspace() throws -> Workspace {
        let work = try Workspace()
        #expect(FileManager.default.createFile(atPath: work.path("big"), contents: nil))
        #expect(truncate(work.path("big"), 1 << 30) == 0)
        return work
    }

    /// Waits until the command's temporary file appears beside the destination.
    func waitForTemporaryFile(in work: Workspace) throws -> Bool {
        for _ in 0..<600 {
            if try work.files().contains(where: { $0.hasPrefix(".par-") }) { return true }
            usleep(50_000)
        }
        return false
    }

    @Test(arguments: [SIGINT, SIGTERM, SIGHUP])
    func aSignalDuringCreateLeavesNoTemporaryFileAndTheOldArchive(signal: Int32) throws {
        let work = try workspace()
        let account = NKeyPair.generate(role: .account)
        let service = NKeyPair.generate(role: .service)
        try work.write(Array("OLD".utf8), to: "out.par.gz")
        let running = try work.start([
            "create", "-n", "p", "-v", "v", "-b", "big", "--destination", "out.par", "--compress", "-i", account.seed, "-s", service.seed,
        ])
        #expect(try waitForTemporaryFile(in: work))
        running.signal(signal)
        let result = running.finish()
        #expect(result.status == 128 + signal, "\(result.error)")
        #expect(try work.files() == ["big", "out.par.gz"])
        #expect(try work.read("out.par.gz") == Array("OLD".utf8))
    }

    @Test(arguments: [SIGINT, SIGTERM])
    func aSignalDuringInsertLeavesTheArchiveAsItWas(signal: Int32) throws {
        let work = try workspace()
        let account = NKeyPair.generate(role: .account)
        let service = NKeyPair.generate(role: .service)
        try work.write(pattern(1000), to: "small")
        #expect(try work.par(["create", "-n", "p", "-v", "v", "-b", "small", "--compress", "-i", account.seed, "-s", service.seed]).status == 0)
        let before = try work.read("small.par.gz")
        let running = try work.start(["insert", "small.par.gz", "-b", "big", "-a", "aarch64-linux", "-i", account.seed, "-s", service.seed])
        #expect(try waitForTemporaryFile(in: work))
        running.signal(signal)
        #expect(running.finish().status == 128 + signal)
        #expect(try work.files() == ["big", "small", "small.par.gz"])
        #expect(try work.read("small.par.gz") == before)
    }

    /// A temporary file left by a process that was killed outright (SIGKILL cannot be
    /// caught) is removed by the next write to the same destination.
    @Test func aKilledRunsLeftoverIsRemovedByTheNextWrite() throws {
        let work = try workspace()
        let account = NKeyPair.generate(role: .account)
        let service = NKeyPair.generate(role: .service)
        let arguments = ["create", "-n", "p", "-v", "v", "-b", "big", "--destination", "out.par", "--compress", "-i", account.seed, "-s", service.seed]
        let running = try work.start(arguments)
        #expect(try waitForTemporaryFile(in: work))
        running.signal(SIGKILL)
        #expect(running.finish().status == -SIGKILL)
        let leftover = try work.files().filter { $0.hasPrefix(".par-") }
        #expect(leftover.count == 1)
        #expect(leftover.first?.contains("-\(running.processIdentifier)-") == true)
        try work.write(pattern(100), to: "small")
        let next = ["create", "-n", "p", "-v", "v", "-b", "small", "--destination", "out.par", "--compress", "-i", account.seed, "-s", service.seed]
        #expect(try work.par(next).status == 0)
        #expect(try work.files() == ["big", "out.par.gz", "small"])
    }
}

/// Peak memory of an insert does not grow with the archive, and a gzip bomb with no claims
/// is refused without inflating into memory.
@Suite(.serialized) struct LargeArchiveTests {
    @Test(arguments: [false, true])
    func insertingIntoA1GiBArchiveStaysUnder64MiB(compress: Bool) throws {
        let work = try Workspace()
        #expect(FileManager.default.createFile(atPath: work.path("big"), contents: nil))
        #expect(truncate(work.path("big"), 1 << 30) == 0)
        let account = NKeyPair.generate(role: .account)
        let service = NKeyPair.generate(role: .service)
        let keys = ["-i", account.seed, "-s", service.seed]
        #expect(try work.par(["create", "-n", "big", "-v", "v", "-b", "big"] + keys + (compress ? ["--compress"] : [])).status == 0)
        try FileManager.default.removeItem(atPath: work.path("big"))
        try work.write(pattern(1_000_000), to: "mac")
        let archive = compress ? "big.par.gz" : "big.par"
        let insert = try work.peakRSS(["insert", archive, "-b", "mac", "-a", "aarch64-macos"] + keys)
        #expect(insert.status == 0, "\(insert.error)")
        #expect(insert.rss < 64 << 20, "peak RSS \(insert.rss >> 20) MiB")
        let verified = try ProviderArchive.verify(path: work.path(archive))
        #expect(verified.targets.count == 2)
        #expect(verified.targets[try Target("x86_64-linux")]?.size == 1 << 30)
    }

    @Test func aGzipBombWithoutClaimsIsRefusedByInsertWithBoundedMemory() throws {
        let work = try Workspace()
        let header = CraftedTar.header(name: "x86_64-linux.bin", size: CraftedTar.octal(1 << 31))
        try work.write(header, to: "header")
        let made = try ExternalTools.run(
            ["sh", "-c", "(cat header; head -c 2147483648 /dev/zero; head -c 1024 /dev/zero) | gzip -1 > bomb.par.gz"],
            directory: work.directory)
        #expect(made.status == 0, "\(made.error)")
        let size = try FileManager.default.attributesOfItem(atPath: work.path("bomb.par.gz"))[.size] as? Int ?? 0
        #expect(size < 16 << 20)
        try work.write(pattern(1000), to: "provider")
        let account = NKeyPair.generate(role: .account)
        let service = NKeyPair.generate(role: .service)
        let insert = try work.peakRSS(["insert", "bomb.par.gz", "-b", "provider", "-i", account.seed, "-s", service.seed])
        #expect(insert.status == 1)
        #expect(insert.error.contains("no claims.jwt"), "\(insert.error)")
        #expect(insert.rss < 64 << 20, "peak RSS \(insert.rss >> 20) MiB")
        #expect(try work.files().allSatisfy { !$0.hasPrefix(".par-") })
    }
}
