import ArgumentParser
import Foundation
import PARBytes
import PARContainer

/// `par`: create, inspect, verify and extract wasmCloud provider archives.
@main
struct Par: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "par",
        abstract: "Create, inspect, verify and extract wasmCloud provider archives (PAR).",
        discussion: """
            A drop-in for `wash par`, `wash inspect`, `wash keys`, `wash push` and `wash pull`: the \
            same flags, environment variables, key directory and JSON. Every command verifies \
            signatures and hashes before trusting an archive. -o/--output json works before or \
            after the subcommand. Exit codes: 0 success, 1 failure (one line on stderr; JSON \
            {"success": false, "error": ...} with -o json), 64 usage error.
            """,
        subcommands: [
            CreateCommand.self, InsertCommand.self, InspectCommand.self, VerifyCommand.self,
            ExtractCommand.self, KeysCommand.self, PushCommand.self, PullCommand.self, CopyCommand.self, RunCommand.self,
            CacheCommand.self,
        ]
    )

    /// par's own version, printed by `par -V` or `par --version` (alone: after a subcommand,
    /// `--version` is the provider's, as in wash).
    static let toolVersion = "0.4.0"

    func run() async throws {
        throw CleanExit.helpRequest(self)
    }

    /// Parses and runs, with wash's conventions: `-o/--output` anywhere on the line, errors
    /// as one escaped line (or JSON with `-o json`), and no argument that is not UTF-8.
    static func main() async {
        StandardStreams.prepare()
        let (arguments, format) = GlobalOutput.extract(from: Array(CommandLine.arguments.dropFirst()))
        do {
            _ = try InflateBackend.chosen(by: ProcessInfo.processInfo.environment["PAR_INFLATE"])
        } catch {
            report(CLIError(ErrorHints.message(for: error)), format: format)
        }
        if let invalid = GlobalOutput.firstNonUTF8Argument() {
            report(CLIError("argument \(invalid.index) (\(invalid.shown)) is not valid UTF-8: par takes names and paths in UTF-8; rename the file"), format: format)
        }
        if arguments.first == "-V" || arguments.first == "--version" {
            do {
                switch format {
                case .json?:
                    try StandardStreams.writeResult(
                        JSONValue.object([
                            ("version", .string(toolVersion)), ("inflate", .string(InflateBackend.current.rawValue)),
                            ("success", .bool(true)),
                        ]).serialized + "\n")
                default:
                    // The inflate backend, so a bug report says which library read the archive.
                    try StandardStreams.writeResult("par \(toolVersion) (inflate: \(InflateBackend.current))\n")
                }
            } catch {
                report(error, format: format)
            }
            Foundation.exit(0)
        }
        do {
            var command = try parseAsRoot(arguments.first == "--output" ? [] : arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            report(error, format: format)
        }
        Foundation.exit(0)
    }

    /// Prints a failure (or the help a `CleanExit` asked for) and exits with its code.
    private static func report(_ error: any Error, format: OutputFormat?) -> Never {
        let code = exitCode(for: error)
        if code == .success {
            do {
                try StandardStreams.writeResult(fullMessage(for: error) + "\n")
            } catch {
                report(error, format: format)
            }
            Foundation.exit(0)
        }
        if let exit = error as? ExitCode {
            // A command that already said what went wrong.
            Foundation.exit(exit.rawValue)
        }
        // Usage errors keep the parser's lines (the usage); every other failure is one line.
        let message = code.rawValue == 64 ? fullMessage(for: error) : ErrorHints.message(for: error)
        let safe = TerminalText.withoutSeeds(message)
        if format == .json {
            let line = JSONValue.object([("success", .bool(false)), ("error", .string(safe))]).serialized
            StandardStreams.writeMessage(line + "\n")
        } else {
            // The parser's usage lines stay lines, unless an argument holds a line break or
            // another character escaping would change: then the parser may be quoting it, and
            // the message is one escaped line. Any other message is one line, whatever it holds.
            let keepsLines = code.rawValue == 64
                && CommandLine.arguments.allSatisfy { TerminalText.escaped($0) == $0 }
            let text = keepsLines
                ? safe.split(separator: "\n", omittingEmptySubsequences: false).map { TerminalText.escaped(String($0)) }.joined(separator: "\n")
                : (code.rawValue == 64 ? "" : "error: ") + TerminalText.escaped(safe)
            StandardStreams.writeMessage(text + "\n")
        }
        Foundation.exit(code.rawValue)
    }
}

/// `-o/--output FORMAT` is global in wash: accepted before or after the subcommand. It is
/// taken out of the line and given again at its end, where the command parses it.
enum GlobalOutput {
    static func extract(from arguments: [String]) -> (arguments: [String], format: OutputFormat?) {
        var rest: [String] = []
        var format: OutputFormat?
        var value: String?
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--" {
                rest += arguments[index...]
                break
            }
            if argument == "-o" || argument == "--output", index + 1 < arguments.count {
                value = arguments[index + 1]
                index += 2
                continue
            }
            if argument.hasPrefix("--output=") {
                value = String(argument.dropFirst("--output=".count))
                index += 1
                continue
            }
            rest.append(argument)
            index += 1
        }
        guard let value else { return (arguments, nil) }
        format = OutputFormat(rawValue: value)
        // `par -o json help create`: help takes no options, and its text is the answer.
        if rest.first == "help" { return (rest, format) }
        // Given again at the end (before `--`), where the parser reports a bad value itself.
        let end = rest.firstIndex(of: "--") ?? rest.endIndex
        rest.insert(contentsOf: ["--output", value], at: end)
        return (rest, format)
    }

    /// The first argument whose bytes are not UTF-8 (Swift would have replaced them), with
    /// its bytes shown escaped.
    static func firstNonUTF8Argument() -> (index: Int, shown: String)? {
        for index in 1..<Int(CommandLine.argc) {
            guard let pointer = CommandLine.unsafeArgv[index] else { continue }
            if String(validatingCString: pointer) == nil {
                var shown = ""
                var cursor = pointer
                while cursor.pointee != 0 {
                    let byte = UInt8(bitPattern: cursor.pointee)
                    shown += (0x20..<0x7F).contains(byte) ? String(UnicodeScalar(byte)) : "\\x" + String(byte, radix: 16)
                    cursor += 1
                }
                return (index, shown)
            }
        }
        return nil
    }
}
