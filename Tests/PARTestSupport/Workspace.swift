import Foundation

/// The built `par` executable: `$PAR_TEST_EXECUTABLE` when set (CI runs the process tests
/// again with the release build that way), else beside the test bundle, or in the
/// package's debug build folder.
public let parExecutable: String = {
    if let given = ProcessInfo.processInfo.environment["PAR_TEST_EXECUTABLE"], !given.isEmpty {
        return given.hasPrefix("/") ? given : ExternalTools.repositoryRoot.appendingPathComponent(given).path
    }
    let runner = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for folder in [runner, runner.deletingLastPathComponent(), ExternalTools.repositoryRoot.appendingPathComponent(".build/debug")] {
        let candidate = folder.appendingPathComponent("par").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return ExternalTools.repositoryRoot.appendingPathComponent(".build/debug/par").path
}()

/// What a `par` run printed and how it ended.
public typealias ParResult = ToolResult

/// A scratch folder with its own key directory, where `par` runs as a user would run it.
public struct Workspace: Sendable {
    private let folder: TemporaryFolder
    public var directory: String { folder.path }
    public var keys: String { directory + "/keys" }

    public init() throws {
        folder = try TemporaryFolder()
    }

    public func path(_ name: String) -> String { directory + "/" + name }

    @discardableResult
    public func write(_ bytes: [UInt8], to name: String) throws -> String {
        try Data(bytes).write(to: URL(fileURLWithPath: path(name)))
        return path(name)
    }

    public func read(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path(name))))
    }

    public func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path(name)) }

    /// Writes `size` bytes of machine code (the test runner, repeated) to `name`: a plain
    /// archive does not compress it away, and it is written a piece at a time.
    public func writeMachineCode(_ size: Int, to name: String) throws {
        let code = try Data(contentsOf: URL(fileURLWithPath: CommandLine.arguments[0]))
        guard FileManager.default.createFile(atPath: path(name), contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path(name)])
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path(name)))
        defer { try? handle.close() }
        var written = 0
        while written < size {
            let piece = code.prefix(size - written)
            handle.write(piece)
            written += piece.count
        }
    }

    public func files() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    }

    /// The environment `par` runs in here: WASH_KEYS pointing at this workspace's key folder.
    public func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["WASH_KEYS"] = keys
        env["USER"] = "tester"
        env["WASH_ISSUER_KEY"] = nil
        env["WASH_SUBJECT_KEY"] = nil
        // Never the machine's own docker login: a test writes this folder's config.json if it wants one.
        env["DOCKER_CONFIG"] = directory + "/docker"
        for name in ["WASH_REG_USER", "WASH_REG_PASSWORD", "WASH_REG_CA_FILE"] { env[name] = nil }
        for (key, value) in extra { env[key] = value }
        return env
    }

    /// Runs `par` here and waits for it.
    public func par(_ arguments: [String], environment: [String: String] = [:], input: [UInt8]? = nil) throws -> ParResult {
        try ExternalTools.run(
            arguments, input: input, directory: directory, executable: parExecutable, environment: self.environment(environment))
    }

    /// Runs `par` here through bash, with a shell line around it (redirections such as `2>&-`
    /// or `< /dev/zero`, and `ulimit` before it), and measures it in a process of its own:
    /// its exit code (minus the signal that killed it), what it printed, and its peak RSS
    /// (wait4's ru_maxrss), under a time limit.
    ///
    /// - Parameters:
    ///   - arguments: par's arguments.
    ///   - before: Shell commands run first, such as `ulimit -f 100`.
    ///   - redirections: Redirections of par's streams, such as `>/dev/full`.
    ///   - environment: Variables added to ``environment(_:)``.
    ///   - seconds: The time limit; past it par is killed (SIGKILL, status -9).
    public func measure(
        _ arguments: [String], before: String = "", redirections: String = "", environment: [String: String] = [:],
        seconds: Int = 120
    ) throws -> (result: ParResult, rss: Int) {
        let id = UUID().uuidString
        let outputPath = directory + "/../out-" + id
        let errorPath = directory + "/../err-" + id
        defer {
            try? FileManager.default.removeItem(atPath: outputPath)
            try? FileManager.default.removeItem(atPath: errorPath)
        }
        let script = """
            import os, signal, subprocess, sys
            out, err, line = open(sys.argv[1], "wb"), open(sys.argv[2], "wb"), sys.argv[3]
            p = subprocess.Popen(["bash", "-c", line] + sys.argv[4:], stdout=out, stderr=err, stdin=subprocess.DEVNULL)
            signal.signal(signal.SIGALRM, lambda *_: p.kill())
            signal.alarm(\(seconds))
            _, status, usage = os.wait4(p.pid, 0)
            print(os.waitstatus_to_exitcode(status), usage.ru_maxrss * 1024)
            """
        let line = "\(before)\nexec \"$0\" \"$@\" \(redirections)"
        let run = try ExternalTools.run(
            ["python3", "-c", script, outputPath, errorPath, line, parExecutable] + arguments, directory: directory,
            environment: self.environment(environment))
        let fields = run.line.split(separator: " ")
        let output = (try? Data(contentsOf: URL(fileURLWithPath: outputPath))) ?? Data()
        let error = (try? Data(contentsOf: URL(fileURLWithPath: errorPath))) ?? Data()
        let status = fields.count == 2 ? Int32(fields[0]) ?? -1 : -1
        let result = ParResult(status: status, outputBytes: Array(output), errorBytes: Array(error) + run.errorBytes)
        return (result, fields.count == 2 ? Int(fields[1]) ?? .max : .max)
    }

    /// Files in the folder whose names say they are par's temporary files (`.par-...tmp`).
    public func leftovers(in folder: String? = nil) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder ?? directory).filter { $0.hasPrefix(".par-") }
    }

    /// Starts `par` here without waiting; its output goes to files beside the workspace.
    public func start(_ arguments: [String]) throws -> RunningPar {
        try RunningPar(arguments, in: self)
    }

    /// Runs `par` here under a small Python parent that reports its exit code, peak RSS
    /// (wait4's ru_maxrss) and wall time, its standard output discarded: measured in a
    /// process of its own, whatever else the test process is doing.
    public func peakRSS(_ arguments: [String]) throws -> (status: Int32, rss: Int, seconds: Double, error: String) {
        let script = "import os,subprocess,sys,time\nt=time.monotonic()\np=subprocess.Popen(sys.argv[1:],stdout=subprocess.DEVNULL)\n_,s,r=os.wait4(p.pid,0)\nprint(os.waitstatus_to_exitcode(s), r.ru_maxrss*1024, time.monotonic()-t)"
        let result = try ExternalTools.run(
            ["python3", "-c", script, parExecutable] + arguments, directory: directory, environment: environment())
        let fields = result.line.split(separator: " ")
        guard fields.count == 3 else { return (-1, .max, .infinity, result.error) }
        return (Int32(fields[0]) ?? -1, Int(fields[1]) ?? .max, Double(fields[2]) ?? .infinity, result.error)
    }
}

/// A `par` process running in the background, started with `posix_spawn` and waited for
/// with `waitpid`, not with Foundation's `Process`: Foundation learns that a child ended when
/// a socket it passes the child closes, and a provider `par run` starts closes every
/// descriptor but its own (as the host's do), so Foundation would take a running provider
/// for an ended one and block all of its process bookkeeping in `wait4` until it ends.
public final class RunningPar {
    /// The process id: par's, then the provider's.
    public let processIdentifier: pid_t
    private let outputPath: String
    private let errorPath: String
    private var status: Int32?

    init(_ arguments: [String], in work: Workspace) throws {
        let id = UUID().uuidString
        outputPath = work.directory + "/../out-" + id
        errorPath = work.directory + "/../err-" + id
        // sh changes to the workspace and execs par: the same process.
        let argv = ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", work.directory, parExecutable] + arguments
        let envp = work.environment().map { "\($0.key)=\($0.value)" }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errorPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        // As a shell would start it: no signal blocked, none ignored.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        var all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let code = withCStringArray(argv) { argvPointer in
            withCStringArray(envp) { envpPointer in
                posix_spawn(&pid, "/bin/sh", &actions, &attributes, argvPointer, envpPointer)
            }
        }
        guard code == 0 else { throw ToolMissing(message: "cannot start par: \(String(cString: strerror(code)))") }
        processIdentifier = pid
    }

    /// Sends a signal to the process.
    public func signal(_ number: Int32) {
        kill(processIdentifier, number)
    }

    /// Waits for the end; the exit status, or minus the signal that killed it.
    public func finish() -> ParResult {
        if status == nil {
            var raw: Int32 = 0
            while waitpid(processIdentifier, &raw, 0) < 0, errno == EINTR {}
            // WIFEXITED / WEXITSTATUS / WTERMSIG, spelled out: the C macros are not imported.
            let signal = raw & 0x7F
            status = signal == 0 ? (raw >> 8) & 0xFF : -signal
        }
        let output = (try? Data(contentsOf: URL(fileURLWithPath: outputPath))) ?? Data()
        let error = (try? Data(contentsOf: URL(fileURLWithPath: errorPath))) ?? Data()
        try? FileManager.default.removeItem(atPath: outputPath)
        try? FileManager.default.removeItem(atPath: errorPath)
        return ParResult(status: status ?? -1, outputBytes: Array(output), errorBytes: Array(error))
    }
}

/// Runs `body` with a NULL-terminated array of C strings.
private func withCStringArray<Result>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> Result) -> Result {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { pointers.forEach { free($0) } }
    return body(pointers)
}
