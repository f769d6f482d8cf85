import Foundation
import PARBytes
import PARTestSupport
import Testing

/// The one way par starts a program (wasm-tools): an argument vector and no shell, a clean
/// signal state, only its three standard descriptors, and a time limit and an output bound
/// it cannot outlive.
@Suite struct ChildProcessTests {
    @Test func argumentsReachTheProgramAsTheyAreWithNoShell() throws {
        let outcome = try ChildProcess.run("/usr/bin/printf", arguments: ["%s|", "a b", "$HOME", "; rm -rf /", "*"], timeLimit: .seconds(10), outputLimit: 1000)
        #expect(outcome.succeeded)
        #expect(String(decoding: outcome.output, as: UTF8.self) == "a b|$HOME|; rm -rf /|*|")
    }

    @Test func standardInputIsTheBytesGivenAndErrorsAreKeptApart() throws {
        let bytes = pattern(300_000)
        let outcome = try ChildProcess.run(
            "/bin/sh", arguments: ["-c", "cat; echo oops >&2; exit 7"], standardInput: bytes, timeLimit: .seconds(10),
            outputLimit: 1 << 20)
        #expect(outcome.status == 7 && !outcome.succeeded)
        #expect(outcome.output == bytes)
        #expect(outcome.errorOutput == Array("oops\n".utf8))
        // No input given: /dev/null, not ours.
        #expect(try ChildProcess.run("/bin/cat", arguments: [], timeLimit: .seconds(10), outputLimit: 10).output.isEmpty)
    }

    /// The child starts with an empty signal mask and nothing ignored, whatever the calling
    /// thread blocks and the process ignores, and with only descriptors 0, 1 and 2, even when
    /// this process holds one that is not close-on-exec.
    @Test func theProgramStartsCleanWithOnlyItsOwnDescriptors() throws {
        #if os(Linux)
        // Thread-local, so no other test is touched; SIGPIPE is commonly ignored by test runners anyway.
        var blocked = sigset_t()
        sigemptyset(&blocked)
        sigaddset(&blocked, SIGUSR2)
        var previous = sigset_t()
        pthread_sigmask(SIG_BLOCK, &blocked, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        signal(SIGPIPE, SIG_IGN)
        let inherited = open("/dev/null", O_RDONLY)
        defer { close(inherited) }
        #expect(inherited > 2)

        let outcome = try ChildProcess.run(
            "/bin/sh", arguments: ["-c", "grep -E '^Sig(Blk|Ign)' /proc/self/status; ls /proc/self/fd"], timeLimit: .seconds(10),
            outputLimit: 1 << 16)
        let lines = String(decoding: outcome.output, as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(lines.contains("SigBlk:\t0000000000000000"), "\(lines)")
        // Signals 1 to 31; glibc's posix_spawn leaves its own two (32, 33) ignored in every child.
        let ignored = lines.first { $0.hasPrefix("SigIgn:\t") }.flatMap { UInt64($0.dropFirst(8), radix: 16) }
        #expect(ignored.map { $0 & 0x7FFF_FFFF } == 0, "\(lines)")
        // sh and ls: 0, 1, 2, and the one ls opens to list the folder.
        let descriptors = lines.filter { Int($0) != nil }
        #expect(descriptors == ["0", "1", "2", "3"], "\(lines)")
        #endif
    }

    /// A program that ends while a child it started still holds its output: what it wrote is
    /// returned at once, not after the time limit.
    @Test func aProgramThatLeavesAChildHoldingItsOutputIsDoneWhenItEnds() throws {
        let start = ContinuousClock.now
        let outcome = try ChildProcess.run(
            "/bin/sh", arguments: ["-c", "sleep 30 & echo ok"], timeLimit: .seconds(20), outputLimit: 100)
        #expect(outcome.succeeded && outcome.output == Array("ok\n".utf8))
        #expect(ContinuousClock.now - start < .seconds(5))
    }

    @Test func aProgramPastItsTimeLimitIsKilledPromptly() throws {
        let start = ContinuousClock.now
        #expect(throws: ChildProcessError.timedOut(executable: "/bin/sleep", limit: .milliseconds(300))) {
            try ChildProcess.run("/bin/sleep", arguments: ["30"], timeLimit: .milliseconds(300), outputLimit: 10)
        }
        #expect(ContinuousClock.now - start < .seconds(5))
        // One that closes its output and stays is waited for only until the limit too.
        #expect(throws: ChildProcessError.timedOut(executable: "/bin/sh", limit: .milliseconds(300))) {
            try ChildProcess.run("/bin/sh", arguments: ["-c", "exec >&- 2>&-; sleep 30"], timeLimit: .milliseconds(300), outputLimit: 10)
        }
        #expect(ContinuousClock.now - start < .seconds(10))
    }

    @Test func outputPastTheBoundStopsTheProgram() throws {
        #expect(throws: ChildProcessError.outputTooLarge(executable: "/bin/cat", limit: 1 << 20)) {
            try ChildProcess.run("/bin/cat", arguments: ["/dev/zero"], timeLimit: .seconds(20), outputLimit: 1 << 20)
        }
        // Standard error past its bound is dropped, not fatal.
        let noisy = try ChildProcess.run(
            "/bin/sh", arguments: ["-c", "head -c 1000000 /dev/zero >&2; echo done"], timeLimit: .seconds(20), outputLimit: 100,
            errorOutputLimit: 1000)
        #expect(noisy.succeeded && noisy.errorOutput.count == 1000 && noisy.output == Array("done\n".utf8))
    }

    @Test func aMissingProgramIsAnErrorAndLocateSearchesThePath() throws {
        #expect(throws: ChildProcessError.cannotStart(executable: "/no/such/tool", code: Errno.notFound)) {
            try ChildProcess.run("/no/such/tool", arguments: [], timeLimit: .seconds(1), outputLimit: 10)
        }
        #expect(ChildProcess.locate("sh", searchPath: "/nonexistent:/bin") == "/bin/sh")
        #expect(ChildProcess.locate("sh", searchPath: "/nonexistent") == nil)
        #expect(ChildProcess.locate("/bin/sh", searchPath: nil) == "/bin/sh")
        // A folder of that name is not a program.
        #expect(ChildProcess.locate("bin", searchPath: "/") == nil)
    }
}
