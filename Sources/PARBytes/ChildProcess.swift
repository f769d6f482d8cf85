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
        System.isExecutable(path) && (try? System.status(at: path))?.kind == nil
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
        let started = System.spawn(executable, arguments: arguments, standardInput: input, output: output.write, errors: errors.write)
        System.close(output.write)
        System.close(errors.write)
        guard started.code == 0 else { throw .cannotStart(executable: executable, code: started.code) }
        var reader = Reader(output: output.read, errors: errors.read, outputLimit: outputLimit, errorOutputLimit: errorOutputLimit)
        defer { reader.buffer.deallocate() }
        return try wait(for: started.process, executable, reading: &reader, timeLimit: timeLimit)
    }

    /// Reads the program's output as it comes until it ends, killing it (and waiting for it)
    /// when it outlives `timeLimit` or writes past the bound.
    private static func wait(
        for process: Int32, _ executable: String, reading reader: inout Reader, timeLimit: Duration
    ) throws(ChildProcessError) -> Outcome {
        // Past a year is forever; kept finite so the clock arithmetic cannot overflow.
        let deadline = ContinuousClock.now + min(timeLimit, .seconds(365 * 86_400))
        while true {
            guard let wait = milliseconds(until: deadline) else {
                System.killAndReap(process)
                throw .timedOut(executable: executable, limit: timeLimit)
            }
            // Short waits: a program that has ended is noticed even when a child it left
            // behind still holds its output open.
            let ready: [Int32]
            switch System.waitForReadable(reader.open, milliseconds: min(wait, 100)) {
            case .success(let descriptors): ready = descriptors
            case .failure(let error):
                System.killAndReap(process)
                throw .waitFailed(executable: executable, code: error.code)
            }
            for descriptor in ready where !reader.read(descriptor) {
                System.killAndReap(process)
                throw .outputTooLarge(executable: executable, limit: reader.outputLimit)
            }
            switch System.reap(process, waiting: false) {
            case .success(nil): continue
            case .success(let exit?):
                // What it wrote before it ended is in the pipes; nothing later is waited for.
                guard reader.drain() else { throw .outputTooLarge(executable: executable, limit: reader.outputLimit) }
                var outcome = Outcome(status: nil, signal: nil, output: reader.kept, errorOutput: reader.keptErrors)
                switch exit {
                case .exited(let status): outcome.status = status
                case .signaled(let signal): outcome.signal = signal
                }
                return outcome
            case .failure(let error):
                System.killAndReap(process)
                throw .waitFailed(executable: executable, code: error.code)
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
            for descriptor in open { System.setNonBlocking(descriptor) }
        }

        /// Reads what one pipe holds now: `nil` when it is empty, else whether the output
        /// stayed within its bound.
        @discardableResult
        mutating func read(_ descriptor: Int32) -> Bool {
            readOnce(descriptor) ?? true
        }

        private mutating func readOnce(_ descriptor: Int32) -> Bool? {
            let count = retryingOnInterrupt { systemRead(descriptor, buffer.baseAddress!, buffer.count) }
            if count < 0, Errno.current == Errno.tryAgain || Errno.current == Errno.wouldBlock { return nil }
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

    /// A pipe whose ends are closed on exec, so another program started meanwhile never holds
    /// them; the child gets copies on 1 and 2 only.
    private static func makePipe(for executable: String) throws(ChildProcessError) -> (read: Int32, write: Int32) {
        guard let ends = System.closeOnExecPipe() else { throw .cannotStart(executable: executable, code: Errno.current) }
        return ends
    }
}
