import ArgumentParser
import Foundation
import PARBytes
import ProviderArchiveKit


/// A failure the user can act on, said in one line.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// What a command did or found, for people (lines of text) and for scripts (wash's JSON
/// keys; `"success": true` is added when printed).
struct CommandResult {
    var text: [String]
    var json: [(key: String, value: JSONValue)]
}

/// Where a command's words go: results to stdout, notes, progress and errors to stderr.
struct Console {
    let format: OutputFormat

    /// Progress only for people watching a terminal, never in JSON mode.
    var showsProgress: Bool { format == .text && System.isTerminal(System.standardError) }

    /// A line of text output, its control characters escaped: nothing printed can move the
    /// cursor, clear a line or hide text, whatever an archive or registry put in it.
    func print(_ line: String) throws(FileError) {
        try StandardStreams.writeResult(TerminalText.escaped(line) + "\n")
    }

    /// A JSON answer, as wash prints it: the command's keys and `"success": true`. JSON's own
    /// escaping keeps control characters out of the terminal.
    func printJSON(_ members: [(key: String, value: JSONValue)]) throws(FileError) {
        try StandardStreams.writeResult(JSONValue.object(members + [("success", .bool(true))]).serialized + "\n")
    }

    /// A command's result, in this console's format.
    func emit(_ result: CommandResult) throws(FileError) {
        switch format {
        case .text: for line in result.text { try print(line) }
        case .json: try printJSON(result.json)
        }
    }

    /// A note on stderr (a warning, a retry), escaped, with any seed in it hidden.
    func note(_ line: String) {
        StandardStreams.writeMessage(TerminalText.escaped(TerminalText.withoutSeeds(line)) + "\n")
    }

    /// Runs a command body and prints its result. Its errors go to `Par.main`, which prints
    /// them as one line (or JSON) and exits 1. Temporary files being written are removed if
    /// SIGINT, SIGTERM or SIGHUP ends the command.
    func run(_ body: () throws -> CommandResult) throws {
        AtomicFileSink.removeTemporaryFilesOnTerminationSignals()
        try emit(try body())
    }

    /// Runs an async command body and prints its result, as ``run(_:)``.
    func runAsync(_ body: () async throws -> CommandResult) async throws {
        AtomicFileSink.removeTemporaryFilesOnTerminationSignals()
        try emit(try await body())
    }

    /// A progress line on stderr, redrawn at most ten times a second.
    func progress(_ label: String) -> Progress {
        Progress(label: label, enabled: showsProgress)
    }

    /// Runs work that reports progress, with a progress line shown meanwhile and cleared after.
    func withProgress<Result, Failure: Error>(
        _ label: String, _ body: (@escaping ProgressHandler) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        let progress = progress(label)
        defer { progress.finish() }
        return try body { progress.update($0, of: $1) }
    }

    /// ``withProgress(_:_:)`` for an async command: the work (reading and hashing a whole
    /// archive) runs on a thread of its own, never on a cooperative one.
    func offloadingWithProgress<Result: Sendable, Failure: Error>(
        _ label: String, _ body: @escaping @Sendable (@escaping ProgressHandler) throws(Failure) -> Result
    ) async throws(Failure) -> Result {
        try await offload { [self] () throws(Failure) -> Result in try withProgress(label, body) }
    }

    /// Runs a network transfer that reports progress (from any thread), as ``withProgress(_:_:)``.
    func withTransferProgress<Result>(
        _ label: String, _ body: (@escaping @Sendable (UInt64, UInt64) -> Void) async throws -> Result
    ) async throws -> Result {
        let progress = progress(label)
        defer { progress.finish() }
        return try await body { progress.update($0, of: $1) }
    }
}

/// A one-line progress display: `label  45% (45.0 of 100.0 MB)`. Updates may come from any
/// thread (network transfers), so its state sits behind a lock.
final class Progress: Sendable {
    private struct State {
        var lastDraw = ContinuousClock.Instant.now - .seconds(1)
        var drawn = false
    }

    private let label: String
    private let enabled: Bool
    private let state = Monitor(State())

    init(label: String, enabled: Bool) {
        self.label = label
        self.enabled = enabled
    }

    func update(_ completed: UInt64, of total: UInt64) {
        guard enabled, total > 0 else { return }
        let label = self.label
        state.withLock { state in
            let now = ContinuousClock.Instant.now
            guard completed == total || now - state.lastDraw >= .milliseconds(100) else { return }
            state.lastDraw = now
            state.drawn = true
            let percent = Int(Double(completed) * 100 / Double(total))
            StandardStreams.writeMessage("\r\u{1B}[K\(label) \(percent)% (\(formatBytes(completed)) of \(formatBytes(total)))")
        }
    }

    func finish() {
        state.withLock { state in
            guard state.drawn else { return }
            StandardStreams.writeMessage("\r\u{1B}[K")
            state.drawn = false
        }
    }
}

/// Sizes for people: `512 B`, `3.4 KB`, `12.0 MB`, `1.1 GB`.
func formatBytes(_ count: UInt64) -> String {
    let units = ["B", "KB", "MB", "GB", "TB"]
    var value = Double(count)
    var unit = 0
    while value >= 1000, unit < units.count - 1 {
        value /= 1000
        unit += 1
    }
    return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
}

/// A time relative to now, in words: `in 3 days`, `2 hours ago`.
func relativeTime(_ unixSeconds: UInt64, now: Date = Date()) -> String {
    let delta = Double(unixSeconds) - now.timeIntervalSince1970
    let magnitude = abs(delta)
    let (amount, unit): (Int, String) =
        switch magnitude {
        case ..<60: (Int(magnitude), "second")
        case ..<3600: (Int(magnitude / 60), "minute")
        case ..<86400: (Int(magnitude / 3600), "hour")
        case ..<(86400 * 365): (Int(magnitude / 86400), "day")
        default: (Int(magnitude / (86400 * 365)), "year")
        }
    let phrase = "\(amount) \(unit)\(amount == 1 ? "" : "s")"
    return delta >= 0 ? "in \(phrase)" : "\(phrase) ago"
}

/// The name of a file without its folder and its `.gz` and `.par` extensions.
func archiveStem(_ path: String) -> String {
    var name = URL(fileURLWithPath: path).lastPathComponent
    for suffix in [".gz", ".par"] where name.hasSuffix(suffix) && name.count > suffix.count {
        name.removeLast(suffix.count)
    }
    return name
}

/// Checks that the folder a file will be written to exists.
func checkDestinationFolder(_ path: String, flag: String) throws {
    let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
        throw CLIError("the folder \(folder) does not exist: create it first, or choose another \(flag)")
    }
}
