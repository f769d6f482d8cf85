import Foundation

/// The built `par` executable: beside the test bundle, or in the package's debug build folder.
public let parExecutable: String = {
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
    public let directory: String
    public var keys: String { directory + "/keys" }

    public init() throws {
        directory = try ExternalTools.temporaryDirectory()
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

/// A `par` process running in the background.
public final class RunningPar {
    public let process = Process()
    private let outputPath: String
    private let errorPath: String

    init(_ arguments: [String], in work: Workspace) throws {
        let id = UUID().uuidString
        outputPath = work.directory + "/../out-" + id
        errorPath = work.directory + "/../err-" + id
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: parExecutable)
        process.arguments = arguments
        process.environment = work.environment()
        process.currentDirectoryURL = URL(fileURLWithPath: work.directory)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle(forWritingAtPath: outputPath)
        process.standardError = FileHandle(forWritingAtPath: errorPath)
        try process.run()
    }

    /// Sends a signal to the process.
    public func signal(_ number: Int32) {
        kill(process.processIdentifier, number)
    }

    /// Waits for the end; the exit status, or minus the signal that killed it.
    public func finish() -> ParResult {
        process.waitUntilExit()
        let status = process.terminationReason == .exit ? process.terminationStatus : -process.terminationStatus
        let output = (try? Data(contentsOf: URL(fileURLWithPath: outputPath))) ?? Data()
        let error = (try? Data(contentsOf: URL(fileURLWithPath: errorPath))) ?? Data()
        try? FileManager.default.removeItem(atPath: outputPath)
        try? FileManager.default.removeItem(atPath: errorPath)
        return ParResult(status: status, outputBytes: Array(output), errorBytes: Array(error))
    }
}
