import Foundation
import PARBytes
import PARTestSupport
import Testing

/// The provider cache under races, damage and odd files: nothing poisons it, wedges it or
/// makes it grow without bound, and every message says the truth about the source.
@Suite struct CacheHealingTests {
    let provider: RecordingProvider
    var work: Workspace { provider.work }
    var cache: String { work.path("cache") }

    init() throws {
        provider = try RecordingProvider()
    }

    func run(_ source: String, _ extra: [String] = []) throws -> ParResult {
        try work.par(["run", source, "--cache-dir", "cache"] + extra)
    }

    func names(_ folder: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: cache + "/" + folder).sorted()
    }

    /// The archive's file digest, as the cache names its lock and claims.
    func digest(_ name: String) throws -> String {
        SHA256Hash.of(try work.read(name)).lowercaseHex
    }

    @Test func anArchiveSwappedWhileParWaitsForTheLockIsNotWhatRuns() throws {
        try provider.archive("first.par", exitCode: 11)
        try provider.archive("second.par", exitCode: 22)
        #expect(try work.par(["cache", "dir", "--cache-dir", "cache"]).status == 0)
        #expect(try work.par(["cache", "list", "--cache-dir", "cache"]).status == 0)
        // Hold the first archive's source lock, as another par filling it would.
        let lockPath = cache + "/locks/" + (try digest("first.par"))
        // Close-on-exec: a par started meanwhile must not inherit (and so keep) the lock.
        let lock = open(lockPath, O_RDONLY | O_CREAT | O_CLOEXEC, 0o600)
        #expect(lock >= 0 && flock(lock, LOCK_EX) == 0)
        try FileManager.default.copyItem(atPath: work.path("first.par"), toPath: work.path("provider.par"))
        let waiting = try work.start(["run", "provider.par", "--cache-dir", "cache"])
        usleep(1_000_000)
        // The file at the path is now the second archive.
        #expect(rename(work.path("second.par"), work.path("provider.par")) == 0)
        close(lock)
        let result = waiting.finish()
        #expect(result.status == 11, "\(result.error)")
        // The first archive's claims are recorded under its own digest, and name its own binary:
        // the path, now the second archive, runs the second one.
        #expect(try run("first.par").status == 11)
        #expect(try run("provider.par").status == 22)
        #expect(try run("first.par").status == 11)
    }

    @Test func aPruneLoopBesideOneHundredRunsNeverFailsOne() throws {
        try provider.archive(exitCode: 9)
        #expect(try run("provider.par").status == 9)
        let stop = Monitor(false)
        let prunes = Monitor(0)
        let work = self.work
        // A thread of its own: the tests' cooperative pool may be busy with blocking tests.
        let pruner = try WorkerThread {
            while !stop.value {
                _ = try? work.par(["cache", "prune", "--max-size", "0", "--cache-dir", "cache"])
                prunes.withLock { $0 += 1 }
            }
        }
        var failures: [String] = []
        for round in 0..<100 {
            let result = try run("provider.par")
            if result.status != 9 { failures.append("round \(round): exit \(result.status): \(result.error)") }
        }
        stop.withLock { $0 = true }
        pruner.join()
        #expect(failures.isEmpty, "\(failures)")
        #expect(prunes.value > 10, "only \(prunes.value) prunes ran beside the runs")
    }

    @Test func aDamagedClaimsRecordIsNamedRemovedAndRebuilt() throws {
        try provider.archive()
        #expect(try run("provider.par").status == 7)
        let record = try names("claims")[0]
        try Data("not.a.token".utf8).write(to: URL(fileURLWithPath: cache + "/claims/" + record))
        let again = try run("provider.par")
        #expect(again.status == 7, "\(again.error)")
        #expect(again.error.contains("claims/\(record) was damaged"), "\(again.error)")
        #expect(try run("provider.par").error.isEmpty)
    }

    @Test func strangersInTheCacheAreRemovedNeverWaitedOn() throws {
        try provider.archive()
        #expect(try run("provider.par").status == 7)
        let binary = try names("binaries")[0]
        try FileManager.default.removeItem(atPath: cache + "/binaries/" + binary)
        #expect(mkfifo(cache + "/binaries/" + binary, 0o600) == 0)
        unlink(cache + "/locks/binary-" + binary)
        #expect(mkfifo(cache + "/locks/binary-" + binary, 0o600) == 0)
        let started = try work.measure(["run", "provider.par", "--cache-dir", "cache"], seconds: 30)
        #expect(started.result.status == 7, "\(started.result.error)")
        #expect(started.result.error.contains("it was a pipe, not a cache file"), "\(started.result.error)")
        #expect(mkfifo(cache + "/claims/stranger.jwt", 0o600) == 0)
        #expect(symlink("/etc/passwd", cache + "/refs/" + String(repeating: "a", count: 64)) == 0)
        let listed = try work.measure(["cache", "list", "--cache-dir", "cache"], seconds: 30)
        #expect(listed.result.status == 0, "\(listed.result.error)")
        let pruned = try work.measure(["cache", "prune", "--max-size", "0", "--cache-dir", "cache"], seconds: 30)
        #expect(pruned.result.status == 0, "\(pruned.result.error)")
        #expect(!FileManager.default.fileExists(atPath: cache + "/claims/stranger.jwt"))
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: cache + "/refs/" + String(repeating: "a", count: 64))) == nil)
    }

    @Test func devicesAreRefusedAndPipesAreReadOnce() throws {
        try provider.archive()
        let zero = try work.measure(["run", "/dev/zero", "--cache-dir", "cache"], seconds: 30)
        expectFailure(zero.result, saying: "/dev/zero is a character device, not an archive file")
        // A pipe: spooled once, verified (signed), started.
        let piped = try work.measure(["run", "/dev/stdin", "--cache-dir", "cache"], redirections: "< <(cat provider.par)", seconds: 60)
        #expect(piped.result.status == 7, "\(piped.result.error)")
        #expect(try names("downloads").isEmpty)
    }

    @Test func aBinaryTwoArchivesShareIsCountedOnce() throws {
        try provider.archive("one.par", providerName: "One")
        try provider.archive("two.par", providerName: "Two")
        #expect(try run("one.par").status == 7)
        #expect(try run("two.par").status == 7)
        let listed = try JSONValue(parsing: Array(try work.par(["cache", "list", "--cache-dir", "cache", "-o", "json"]).output.utf8))
        guard case .array(let entries)? = listed["entries"], case .array(let archives)? = entries.first?["archives"] else {
            Issue.record("no entries: \(listed)")
            return
        }
        #expect(entries.count == 1)
        #expect(archives.count == 2)
        let size = try FileManager.default.attributesOfItem(atPath: cache + "/binaries/" + names("binaries")[0])[.size] as? Int
        let pruned = try JSONValue(parsing: Array(try work.par(["cache", "prune", "--max-size", "0", "--cache-dir", "cache", "-o", "json"]).output.utf8))
        #expect(pruned["bytes"] == .number(String(size ?? 0)))
    }

    @Test func pruneRemovesLeftoversOfGoneProcessesAndGoneFiles() throws {
        try provider.archive("gone.par")
        #expect(try run("gone.par").status == 7)
        try FileManager.default.removeItem(atPath: work.path("gone.par"))
        // A process that has ended: its temporary files are nobody's.
        let ended = try ExternalTools.run(["sh", "-c", "echo $$"]).line
        for leftover in ["downloads/.par-0123456789abcdef-\(ended)-x.tmp", "binaries/incoming-\(ended)-abc", "claims/.par-0123456789abcdef-\(ended)-y.tmp"] {
            try Data([1, 2, 3]).write(to: URL(fileURLWithPath: cache + "/" + leftover))
        }
        // One of a live process (this one) stays.
        let live = "downloads/.par-0123456789abcdef-\(getpid())-z.tmp"
        try Data([1]).write(to: URL(fileURLWithPath: cache + "/" + live))
        #expect(try names("files").count == 1)
        let pruned = try work.par(["cache", "prune", "--older-than", "1d", "--cache-dir", "cache", "-o", "json"])
        #expect(pruned.status == 0, "\(pruned.error)")
        #expect(try names("files").isEmpty, "the record of a deleted archive file stays")
        #expect(try names("downloads") == [String(live.dropFirst("downloads/".count))])
        #expect(try names("binaries").count == 1)
        #expect(try names("claims").count == 1)
    }

    @Test func aReadOnlyCacheStartsWhatItHolds() throws {
        try provider.archive()
        #expect(try run("provider.par").status == 7)
        let mounted = try ExternalTools.run(["sh", "-c", "mount --bind \"$1\" \"$1\" && mount -o remount,bind,ro \"$1\"", "-", cache])
        try #require(mounted.status == 0, "cannot mount read-only here: \(mounted.error)")
        defer { _ = try? ExternalTools.run(["umount", cache]) }
        #expect(access(cache + "/binaries", W_OK) != 0 && errno == EROFS)
        let result = try run("provider.par")
        #expect(result.status == 7, "\(result.error)")
    }

    @Test func hostDataIsAnObjectAndNeverSilentlyChanged() throws {
        try provider.archive()
        try work.write(Array("[1, 2]".utf8), to: "list.json")
        try work.write(Array("{\"host_id\": \"N\"}".utf8), to: "host.json")
        expectUsageError(try run("provider.par", ["--host-data", "list.json"]), saying: "is not a JSON object")
        for flag in [["--lattice-url", "nats://x:4222"], ["--log-level", "debug"], ["--lattice-prefix", "p"], ["--structured-logging"]] {
            expectUsageError(try run("provider.par", ["--host-data", "host.json"] + flag), saying: "\(flag[0]) cannot be given with it")
        }
        #expect(!work.exists("record"))
        #expect(try run("provider.par", ["--host-data", "host.json"]).status == 7)
    }

    @Test func parInflateTakesOnlyWhatItNames() throws {
        expectFailure(try work.par(["inspect", "x.par"], environment: ["PAR_INFLATE": "bogus"]), saying: "PAR_INFLATE=bogus names no inflate backend: set it to zlib or isal, or unset it")
        #expect(try work.par(["--version"], environment: ["PAR_INFLATE": "zlib"]).output.contains("inflate: zlib"))
    }
}
