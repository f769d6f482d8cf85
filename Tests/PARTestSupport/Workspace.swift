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
        FileManager.default.createFile(atPath: outputPath, contents: nil)
        FileManager.default.createFile(atPath: errorPath, contents: nil)
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
