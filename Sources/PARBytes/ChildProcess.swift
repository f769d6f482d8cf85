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
/// signal mask, every signal at its default, and only descriptors 0, 1 and 2 (where the C
/// library can close the rest: glibc 2.34 and later, Darwin; elsewhere every descriptor par
/// opens is close-on-exec, and those are all it holds); its standard input the
/// bytes given (a sealed memory file) or `/dev/null`; its output and errors read through
/// pipes, up to a bound, within a time limit. A program that outlives the limit or writes
/// past the bound is killed, and waited for; once it has ended, what it wrote is read and
/// nothing more is waited for (a child it left behind may keep the pipes open). (A provider is not run this way: `par run`
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
        // An inherited "ignore SIGCHLD" would have the kernel reap the child before we can.
        signal(SIGCHLD, SIG_DFL)
        let started = spawn(executable, arguments: arguments, standardInput: input, output: output.write, errors: errors.write)
        System.close(output.write)
        System.close(errors.write)
        guard started.code == 0 else { throw .cannotStart(executable: executable, code: started.code) }
        let process = started.process

        // Past a year is forever; kept finite so the clock arithmetic cannot overflow.
        let deadline = ContinuousClock.now + min(timeLimit, .seconds(365 * 86_400))
        var reader = Reader(output: output.read, errors: errors.read, outputLimit: outputLimit, errorOutputLimit: errorOutputLimit)
        defer { reader.buffer.deallocate() }
        while true {
            guard let wait = milliseconds(until: deadline) else {
                stop(process)
                throw .timedOut(executable: executable, limit: timeLimit)
            }
            // Short waits: a program that has ended is noticed even when a child it left
            // behind still holds its output open.
            var entries = reader.open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if poll(&entries, nfds_t(entries.count), min(wait, 100)) < 0, errno != EINTR {
                let code = errno
                stop(process)
                throw .waitFailed(executable: executable, code: code)
            }
            for entry in entries where entry.revents != 0 {
                guard reader.read(entry.fd) else {
                    stop(process)
                    throw .outputTooLarge(executable: executable, limit: outputLimit)
                }
            }
            var status: Int32 = 0
            let waited = retryingOnInterrupt { waitpid(process, &status, WNOHANG) }
            if waited == process {
                // What it wrote before it ended is in the pipes; nothing later is waited for.
                guard reader.drain() else { throw .outputTooLarge(executable: executable, limit: outputLimit) }
                var outcome = Outcome(status: nil, signal: nil, output: reader.kept, errorOutput: reader.keptErrors)
                if status & 0x7F == 0 {
                    outcome.status = (status >> 8) & 0xFF
                } else {
                    outcome.signal = status & 0x7F
                }
                return outcome
            }
            if waited < 0 {
                let code = errno
                stop(process)
                throw .waitFailed(executable: executable, code: code)
            }
        }
    }

    /// Reads a program's output and errors from the read ends of their pipes, made
    /// non-blocking, keeping the output up to its bound and the start of the errors.
    private struct Reader {
        let output: Int32
        let errors: Int32
        let outputLimit: Int
        let errorOutputLimit: Int
        var open: [Int32]
        var kept: [UInt8] = []
        var keptErrors: [UInt8] = []
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)

        init(output: Int32, errors: Int32, outputLimit: Int, errorOutputLimit: Int) {
            (self.output, self.errors, self.outputLimit, self.errorOutputLimit) = (output, errors, outputLimit, errorOutputLimit)
            open = [output, errors]
            for descriptor in open { _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK) }
        }

        /// Reads what one pipe holds now: `nil` when it is empty, else whether the output
        /// stayed within its bound.
        @discardableResult
        mutating func read(_ descriptor: Int32) -> Bool {
            readOnce(descriptor) ?? true
        }

        private mutating func readOnce(_ descriptor: Int32) -> Bool? {
            let count = retryingOnInterrupt { systemRead(descriptor, buffer.baseAddress!, buffer.count) }
            if count < 0, errno == EAGAIN || errno == EWOULDBLOCK { return nil }
            if count <= 0 {
                open.removeAll { $0 == descriptor }
                return nil
            }
            if descriptor == output {
                guard kept.count + count <= outputLimit else { return false }
                kept += UnsafeRawBufferPointer(rebasing: buffer[..<count])
            } else {
                let room = min(count, max(0, errorOutputLimit - keptErrors.count))
                keptErrors += UnsafeRawBufferPointer(rebasing: buffer[..<room])
            }
            return true
        }

        /// Reads everything already in both pipes; `false` when the output passes its bound.
        mutating func drain() -> Bool {
            for descriptor in [output, errors] {
                while open.contains(descriptor) {
                    guard let withinBound = readOnce(descriptor) else { break }
                    if !withinBound { return false }
                }
            }
            return true
        }
    }

    /// The milliseconds left before `deadline` (at least 1, at most a day), or `nil` once it
    /// has passed.
    private static func milliseconds(until deadline: ContinuousClock.Instant) -> Int32? {
        let left = ContinuousClock.now.duration(to: deadline)
        guard left > .zero else { return nil }
        let (seconds, attoseconds) = left.components
        return Int32(min(seconds, 86_400) * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
    }

    /// Kills the program and waits for it, so no zombie is left.
    private static func stop(_ process: pid_t) {
        kill(process, SIGKILL)
        var status: Int32 = 0
        _ = retryingOnInterrupt { waitpid(process, &status, 0) }
    }

    /// A pipe whose ends are closed on exec (`pipe2` where there is one), so another program
    /// started meanwhile never holds them; the child gets copies on 1 and 2 only.
    private static func makePipe(for executable: String) throws(ChildProcessError) -> (read: Int32, write: Int32) {
        var ends: [Int32] = [-1, -1]
        guard CPARProcess_closeOnExecPipe(&ends) == 0 else { throw .cannotStart(executable: executable, code: errno) }
        return (ends[0], ends[1])
    }

    /// Starts the program with `posix_spawn`: the process id, or 0 and the error number.
    private static func spawn(
        _ executable: String, arguments: [String], standardInput: Int32?, output: Int32, errors: Int32
    ) -> (process: pid_t, code: Int32) {
        #if canImport(Darwin)
        var actions: posix_spawn_file_actions_t? = nil
        var attributes: posix_spawnattr_t? = nil
        #else
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        #endif
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

        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        // Every signal back to its default in the child, whatever par or its parent chose.
        var defaults = sigset_t()
        sigfillset(&defaults)
        sigdelset(&defaults, SIGKILL)
        sigdelset(&defaults, SIGSTOP)
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
