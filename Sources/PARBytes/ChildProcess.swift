#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
internal import CPARProcess

/// A program par runs and waits for (wasm-tools, to encode and print WIT), the one place the
/// package starts one and waits for it: from an argument vector, never a shell; with an empty
/// signal mask, default dispositions and only descriptors 0, 1 and 2; its standard input the
/// bytes given (a sealed memory file) or `/dev/null`; its output and errors read through
/// pipes, up to a bound, within a time limit. A program that outlives the limit or writes
/// past the bound is killed, and waited for. (A provider is not run this way: `par run`
/// replaces itself with it, see PARHost.)
package enum ChildProcess {
    /// How a program ended, and what it wrote.
    package struct Outcome: Sendable {
        /// The exit status, or `nil` when a signal ended it (``signal`` says which).
        package var status: Int32?
        /// The signal that ended it.
        package var signal: Int32?
        /// Its standard output, all of it.
        package var output: [UInt8]
        /// The start of its standard error (the rest is read and dropped).
        package var errorOutput: [UInt8]

        /// Whether it exited with status 0.
        package var succeeded: Bool { status == 0 }
    }

    /// Where `name` is: itself when it holds a `/`, else the first executable regular file
    /// of that name in `searchPath` (the colon-separated `PATH`; an empty entry is the
    /// current folder), or `nil`.
    package static func locate(_ name: String, searchPath: String?) -> String? {
        if name.contains("/") { return isExecutableFile(name) ? name : nil }
        for folder in (searchPath ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (folder.isEmpty ? "." : String(folder)) + "/" + name
            if isExecutableFile(candidate) { return candidate }
        }
        return nil
    }

    private static func isExecutableFile(_ path: String) -> Bool {
        access(path, X_OK) == 0 && (try? System.status(at: path))?.kind == nil
    }

    /// Runs `executable` with `arguments` (argv[1...]) and waits for it.
    ///
    /// - Parameters:
    ///   - standardInput: What the program reads on its standard input, or `nil` for
    ///     `/dev/null`.
    ///   - timeLimit: How long it may run.
    ///   - outputLimit: The most bytes of standard output kept; more ends it.
    ///   - errorOutputLimit: The most bytes of standard error kept; the rest is dropped.
    /// - Throws: ``ChildProcessError``.
    package static func run(
        _ executable: String, arguments: [String], standardInput: [UInt8]? = nil, timeLimit: Duration, outputLimit: Int,
        errorOutputLimit: Int = 64 << 10
    ) throws(ChildProcessError) -> Outcome {
        var input: Int32?
        if let standardInput {
            do {
                input = try System.readableCopy(of: standardInput)
            } catch {
                throw .cannotStart(executable: executable, code: error.code)
            }
        }
        defer { input.map(System.close) }
        let output = try makePipe(for: executable)
        defer { System.close(output.read) }
        let errors: (read: Int32, write: Int32)
        do {
            errors = try makePipe(for: executable)
        } catch {
            System.close(output.write)
            throw error
        }
        defer { System.close(errors.read) }
        let started = spawn(executable, arguments: arguments, standardInput: input, output: output.write, errors: errors.write)
        System.close(output.write)
        System.close(errors.write)
        guard started.code == 0 else { throw .cannotStart(executable: executable, code: started.code) }
        let process = started.process

        let deadline = ContinuousClock.now + timeLimit
        var outcome = Outcome(status: nil, signal: nil, output: [], errorOutput: [])
        var open = [output.read, errors.read]
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
        defer { buffer.deallocate() }
        while !open.isEmpty {
            guard let wait = milliseconds(until: deadline) else {
                stop(process)
                throw .timedOut(executable: executable, limit: timeLimit)
            }
            var entries = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&entries, nfds_t(entries.count), wait)
            if ready < 0, errno == EINTR { continue }
            for entry in entries where entry.revents != 0 {
                let count = retryingOnInterrupt { systemRead(entry.fd, buffer.baseAddress!, buffer.count) }
                if count <= 0 {
                    open.removeAll { $0 == entry.fd }
                } else if entry.fd == output.read {
                    guard outcome.output.count + count <= outputLimit else {
                        stop(process)
                        throw .outputTooLarge(executable: executable, limit: outputLimit)
                    }
                    outcome.output += UnsafeRawBufferPointer(rebasing: buffer[..<count])
                } else {
                    let kept = min(count, max(0, errorOutputLimit - outcome.errorOutput.count))
                    outcome.errorOutput += UnsafeRawBufferPointer(rebasing: buffer[..<kept])
                }
            }
        }
        // Its output is closed, but it may still run (or have left a child holding nothing).
        while true {
            var status: Int32 = 0
            let waited = retryingOnInterrupt { waitpid(process, &status, WNOHANG) }
            if waited == process {
                if status & 0x7F == 0 {
                    outcome.status = (status >> 8) & 0xFF
                } else {
                    outcome.signal = status & 0x7F
                }
                return outcome
            }
            guard waited == 0, milliseconds(until: deadline) != nil else {
                stop(process)
                throw .timedOut(executable: executable, limit: timeLimit)
            }
            usleep(10_000)
        }
    }

    /// The milliseconds left before `deadline` (at least 1), or `nil` once it has passed.
    private static func milliseconds(until deadline: ContinuousClock.Instant) -> Int32? {
        let left = ContinuousClock.now.duration(to: deadline)
        guard left > .zero else { return nil }
        let (seconds, attoseconds) = left.components
        return Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
    }

    /// Kills the program and waits for it, so no zombie is left.
    private static func stop(_ process: pid_t) {
        kill(process, SIGKILL)
        var status: Int32 = 0
        _ = retryingOnInterrupt { waitpid(process, &status, 0) }
    }

    /// A pipe whose ends are closed on exec (the child gets copies on 1 and 2 only). Only
    /// this file starts processes, so no other spawn can catch the ends in between.
    private static func makePipe(for executable: String) throws(ChildProcessError) -> (read: Int32, write: Int32) {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { throw .cannotStart(executable: executable, code: errno) }
        _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
        return (ends[0], ends[1])
    }

    /// Starts the program with `posix_spawn`: the process id, or 0 and the error number.
    private static func spawn(
        _ executable: String, arguments: [String], standardInput: Int32?, output: Int32, errors: Int32
    ) -> (process: pid_t, code: Int32) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let standardInput {
            posix_spawn_file_actions_adddup2(&actions, standardInput, 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_adddup2(&actions, output, 1)
        posix_spawn_file_actions_adddup2(&actions, errors, 2)
        // Only its own three: a descriptor someone opened without close-on-exec stays here.
        _ = CPARProcess_spawnClosesFrom(&actions, 3)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        // What par handles or ignores itself goes back to the default in the child.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGXFSZ, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM] {
            sigaddset(&defaults, signal)
        }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
        #if canImport(Darwin)
        flags |= POSIX_SPAWN_CLOEXEC_DEFAULT  // Darwin's way to pass only the dup2'd descriptors.
        #endif
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let argv = ([executable] + arguments).map { strdup($0) }
        defer { argv.forEach { free($0) } }
        var process: pid_t = 0
        let code = (argv + [nil]).withUnsafeBufferPointer { vector in
            posix_spawn(&process, executable, &actions, &attributes, vector.baseAddress!, environ)
        }
        return (code == 0 ? process : 0, code)
    }
}
