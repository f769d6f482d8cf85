import Foundation

/// The outcome of running another program.
public struct ToolResult: Sendable {
    public let status: Int32
    public let outputBytes: [UInt8]
    public let errorBytes: [UInt8]

    /// Standard output as text. Computed on demand: decoding large binary output is slow.
    public var output: String { String(decoding: outputBytes, as: UTF8.self) }
    /// Standard error as text.
    public var error: String { String(decoding: errorBytes, as: UTF8.self) }

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
        // Blocking pipe I/O runs on threads of its own: on Dispatch's shared pool it can starve
        // behind other blocked work when tests run in parallel.
        let finished = DispatchSemaphore(value: 0)
        if let input {
            let handle = inputPipe.fileHandleForWriting
            Thread {
                input.withUnsafeBytes { bytes in
                    var offset = 0
                    while offset < bytes.count {
                        let written = write(handle.fileDescriptor, bytes.baseAddress! + offset, bytes.count - offset)
                        if written <= 0 { break }
                        offset += written
                    }
                }
                try? handle.close()
            }.start()
        }
        nonisolated(unsafe) var errorData = Data()
        Thread {
            errorData = Data(readToEnd(error.fileHandleForReading.fileDescriptor))
            finished.signal()
        }.start()
        let outputData = Data(readToEnd(output.fileHandleForReading.fileDescriptor))
        finished.wait()
        process.waitUntilExit()
        return ToolResult(status: process.terminationStatus, outputBytes: Array(outputData), errorBytes: Array(errorData))
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

    /// A fresh temporary directory inside this process's test root, which is removed when
    /// the process exits (a ``TemporaryFolder`` removes its own sooner).
    public static func temporaryDirectory() throws -> String {
        let path = testRoot + "/" + String(UUID().uuidString.prefix(8))
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

/// A temporary folder removed with its last owner: a test's scratch space, gigabytes for the
/// large-file tests, is gone when the test is.
public final class TemporaryFolder: Sendable {
    public let path: String

    public init() throws {
        path = try ExternalTools.temporaryDirectory()
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// This test process's folder in `TMPDIR`, `par-tests-PID`, removed when the process exits.
/// The folders of test processes that ended without removing theirs (killed, crashed) are
/// removed when it is first made.
private let testRoot: String = {
    let base = FileManager.default.temporaryDirectory.path
    for name in (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [] where name.hasPrefix("par-tests-") {
        let owner = name.dropFirst("par-tests-".count)
        // A folder of the old form (par-tests-UUID) or of a process that has ended.
        if let pid = Int32(owner), kill(pid, 0) == 0 || errno == EPERM { continue }
        try? FileManager.default.removeItem(atPath: base + "/" + name)
    }
    let root = base + "/par-tests-\(getpid())"
    try? FileManager.default.removeItem(atPath: root)
    try? FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    testRootPath = root
    atexit { if let root = testRootPath { try? FileManager.default.removeItem(atPath: root) } }
    return root
}()

/// The same path, for the exit handler (a C function, which cannot capture).
nonisolated(unsafe) private var testRootPath: String?

/// Everything a pipe delivers until its writers close it (plain read(2): Foundation's
/// readDataToEndOfFile is slow on large pipe output here).
private func readToEnd(_ descriptor: Int32) -> [UInt8] {
    // Reads straight into the result's spare capacity: slice appends crawl in debug builds.
    var result = [UInt8](repeating: 0, count: 1 << 16)
    var filled = 0
    while true {
        if filled == result.count { result += [UInt8](repeating: 0, count: result.count) }
        let count = result.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + filled, $0.count - filled) }
        if count < 0, errno == EINTR { continue }
        if count <= 0 { break }
        filled += count
    }
    result.removeLast(result.count - filled)
    return result
}

/// A tool the interop tests need is not installed.
public struct ToolMissing: Error, CustomStringConvertible {
    public let message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

/// This process's peak resident memory so far, in bytes (getrusage).
public func peakResidentBytes() -> Int {
    var usage = rusage()
    #if os(Linux)
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    #else
    getrusage(RUSAGE_SELF, &usage)
    #endif
    return Int(usage.ru_maxrss) * 1024
}

extension ExternalTools {
    /// The X25519 public key (hex) of an nkey seed's 32 raw bytes, computed by PyNaCl: an
    /// independent answer for curve (xkeys) seeds, which Python nkeys 0.2.1 does not know.
    public static func x25519PublicKeyHex(ofSeed seed: String) throws -> String {
        let script = """
            import base64, sys, nacl.bindings
            seed = sys.argv[1]
            raw = base64.b32decode(seed + "=" * (-len(seed) % 8))[2:34]
            print(nacl.bindings.crypto_scalarmult_base(raw).hex())
            """
        let result = try run(["python3", "-c", script, seed])
        guard result.status == 0 else { throw ToolMissing(message: "PyNaCl is needed (pip install nkeys==0.2.1): \(result.error)") }
        return result.line
    }
}
