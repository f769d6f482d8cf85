import Foundation

/// The outcome of running another program.
public struct ToolResult: Sendable {
    public let status: Int32
    public let output: String
    public let error: String
    public let outputBytes: [UInt8]

    /// Standard output without surrounding white space: a program's one-line answer.
    public var line: String { output.trimmingCharacters(in: .whitespacesAndNewlines) }
}

/// Runs programs we did not write (parcheck.py, GNU tar, python3, gzip) for interop tests.
public enum ExternalTools {
    /// The repository root, found from this file's path.
    public static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `../shared` beside the repository, or `$PAR_SHARED_DIR`.
    public static var sharedDirectory: URL {
        if let path = ProcessInfo.processInfo.environment["PAR_SHARED_DIR"] { return URL(fileURLWithPath: path) }
        return repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared")
    }

    /// The independent checker's path.
    public static var parcheck: String { sharedDirectory.appendingPathComponent("conformance/parcheck.py").path }

    /// Runs a program found on PATH (or at `executable`), with optional standard input.
    @discardableResult
    public static func run(
        _ arguments: [String], input: [UInt8]? = nil, directory: String? = nil, executable: String = "/usr/bin/env",
        environment: [String: String]? = nil
    ) throws -> ToolResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let output = Pipe()
        let error = Pipe()
        let inputPipe = Pipe()
        process.standardOutput = output
        process.standardError = error
        process.standardInput = input == nil ? FileHandle.nullDevice : inputPipe
        try process.run()
        if let input {
            let handle = inputPipe.fileHandleForWriting
            DispatchQueue.global().async {
                handle.write(Data(input))
                try? handle.close()
            }
        }
        // Read both pipes concurrently so a chatty program cannot fill one and block.
        nonisolated(unsafe) var errorData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errorData = error.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return ToolResult(
            status: process.terminationStatus,
            output: String(decoding: outputData, as: UTF8.self),
            error: String(decoding: errorData, as: UTF8.self),
            outputBytes: Array(outputData))
    }

    /// Runs `parcheck.py` with arguments; fails loudly if python3 or nkeys are missing.
    @discardableResult
    public static func runParcheck(_ arguments: [String]) throws -> ToolResult {
        let result = try run(["python3", parcheck] + arguments)
        if result.status == 2, result.error.contains("needs `pip install") {
            throw ToolMissing(message: "parcheck.py needs `pip install nkeys==0.2.1` (see .ci/run)")
        }
        return result
    }

    /// A fresh temporary directory, removed by the caller (or left for the OS).
    public static func temporaryDirectory() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("par-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }
}

/// A tool the interop tests need is not installed.
public struct ToolMissing: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
