import Foundation
import PARTestSupport
import Testing

/// The built `par` executable: beside the test bundle, or in the package's debug build folder.
let parExecutable: String = {
    let runner = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for folder in [runner, runner.deletingLastPathComponent(), ExternalTools.repositoryRoot.appendingPathComponent(".build/debug")] {
        let candidate = folder.appendingPathComponent("par").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return ExternalTools.repositoryRoot.appendingPathComponent(".build/debug/par").path
}()

struct ParResult {
    let status: Int32
    let output: String
    let error: String
}

/// A scratch folder with its own key directory, where `par` runs as a user would run it.
struct Workspace {
    let directory: String
    var keys: String { directory + "/keys" }

    init() throws {
        directory = try ExternalTools.temporaryDirectory()
    }

    func path(_ name: String) -> String { directory + "/" + name }

    @discardableResult
    func write(_ bytes: [UInt8], to name: String) throws -> String {
        try Data(bytes).write(to: URL(fileURLWithPath: path(name)))
        return path(name)
    }

    func read(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path(name))))
    }

    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path(name)) }

    func files() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    }

    /// Runs `par` here with WASH_KEYS pointing at this workspace's key folder.
    func par(_ arguments: [String], environment: [String: String] = [:]) throws -> ParResult {
        var env = ProcessInfo.processInfo.environment
        env["WASH_KEYS"] = keys
        env["USER"] = "tester"
        env["WASH_ISSUER_KEY"] = nil
        env["WASH_SUBJECT_KEY"] = nil
        for (key, value) in environment { env[key] = value }
        let result = try ExternalTools.run(arguments, directory: directory, executable: parExecutable, environment: env)
        return ParResult(status: result.status, output: result.output, error: result.error)
    }
}

func pattern(_ count: Int, seed: UInt8 = 1) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed) &* 7 &+ $0 >> 9) }
}

/// Expects a one-line failure with exit code 1 whose message contains `words`.
func expectFailure(_ result: ParResult, saying words: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(result.status == 1, "exit \(result.status): \(result.error)", sourceLocation: sourceLocation)
    let lines = result.error.split(separator: "\n")
    #expect(lines.count == 1, "stderr: \(result.error)", sourceLocation: sourceLocation)
    #expect(result.error.contains(words), "stderr: \(result.error)", sourceLocation: sourceLocation)
}
