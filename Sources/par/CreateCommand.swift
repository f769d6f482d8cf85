import ArgumentParser
import Foundation
import PARBytes
import PARClaims
import ProviderArchiveKit

/// `par create`: pack binaries into a new signed archive, as `wash par create` does.
struct CreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a provider archive from one or more binaries.",
        discussion: """
            Repeat --binary (with an --arch each) to add several targets at once. Keys default to \
            $USER_account.nk and BINARY_service.nk in the key directory, generated when missing.
            """
    )

    @Option(name: .shortAndLong, help: "The provider's name.")
    var name: String

    @Option(name: .shortAndLong, help: "The provider's vendor.")
    var vendor: String

    @Option(name: .customLong("version"), help: "The provider's version, such as 0.1.0.")
    var providerVersion: String?

    // Unconditional, so a negative revision (-r -1) is a value, not an unknown flag.
    @Option(name: .shortAndLong, parsing: .unconditional, help: "The provider's revision, a whole number.")
    var revision: Int32?

    @Option(name: [.customShort("j"), .long], help: "A JSON schema file for the provider's configuration (env WASH_JSON_SCHEMA).")
    var schema: String?

    @Option(
        name: .long,
        help: "A folder of WIT (with its deps/), encoded by wasm-tools and stored as world.wasm (env WIT_DIR).")
    var witDirectory: String?

    @Option(name: .long, help: "A WIT world already encoded as a WebAssembly component, stored as world.wasm.")
    var witWorld: String?

    @Option(name: .shortAndLong, help: "A provider binary; repeat for several targets.")
    var binary: [String] = []

    @Option(name: .shortAndLong, help: "The target of each --binary, as ARCH-OS (default: this machine's).", transform: Target.parsing)
    var arch: [Target] = []

    @Option(help: "Where to write the archive (default: ./BINARY.par, .gz added with --compress).")
    var destination: String?

    @Flag(help: "Compress the archive with gzip.")
    var compress = false

    @OptionGroup(title: "Keys") var keys: KeyOptions

    @OptionGroup var output: OutputOptions

    func validate() throws {
        if witDirectory != nil, witWorld != nil {
            throw ValidationError("--wit-directory and --wit-world both give the WIT world: pass one")
        }
        guard !binary.isEmpty else { throw ValidationError("no --binary given: name the provider executable to pack") }
        if arch.isEmpty, binary.count > 1 {
            throw ValidationError("\(binary.count) binaries but no --arch: give an --arch ARCH-OS for each --binary")
        }
        if !arch.isEmpty, arch.count != binary.count {
            throw ValidationError("\(binary.count) --binary but \(arch.count) --arch: give one --arch for each --binary, in the same order")
        }
        var seen = Set<Target>()
        if let duplicate = arch.first(where: { !seen.insert($0).inserted }) {
            throw ValidationError("the target \(duplicate) is given twice: each --arch must be different")
        }
    }

    func run() throws {
        try output.run { console in
            // validate() paired them: a lone binary without --arch is native.
            let targets = arch.isEmpty ? [(binary[0], Target.native)] : Array(zip(binary, arch))
            var archive = ProviderArchiveBuilder(name: name, vendor: vendor, revision: revision, version: providerVersion)
            for (path, target) in targets {
                do {
                    try archive.addBinary(contentsOf: path, for: target)
                } catch {
                    throw CLIError("--binary: \(ErrorHints.message(for: error))")
                }
            }
            let schemaFile = schema ?? ProcessInfo.processInfo.environment["WASH_JSON_SCHEMA"].flatMap { $0.isEmpty ? nil : $0 }
            if let schemaFile { archive.configSchema = try readSchema(schemaFile) }
            try addWorld(to: &archive)

            let stem = URL(fileURLWithPath: targets[0].0).deletingPathExtension().lastPathComponent
            let path = destination ?? "./\(stem).par"
            try checkDestinationFolder(path, flag: "--destination")
            let issuer = try keys.resolve(keys.issuerValue, flag: "--issuer", role: .account, name: try KeyOptions.userName(), console: console)
            let subject = try keys.resolve(keys.subjectValue, flag: "--subject", role: .service, name: stem, console: console)

            let written = try console.withProgress("packing") { progress in
                try archive.write(
                    to: path, issuer: issuer, subject: subject, compression: compress ? .gzip : .none, progress: progress)
            }
            let file = written.path ?? path
            return CommandResult(
                text: ["Successfully created archive \(file)"],
                json: [
                    ("file", .string(file)),
                    ("issuer", .string(issuer.publicKey.encoded)),
                    ("service", .string(subject.publicKey.encoded)),
                    ("targets", .strings(archive.targets.map(\.name))),
                ])
        }
    }

    /// The WIT world, from --wit-directory (or WIT_DIR, as wash reads it, unless --wit-world
    /// is given) through wasm-tools, or from --wit-world as it is; checked to be a component.
    private func addWorld(to archive: inout ProviderArchiveBuilder) throws {
        let fromEnvironment = witWorld == nil ? ProcessInfo.processInfo.environment["WIT_DIR"].flatMap { $0.isEmpty ? nil : $0 } : nil
        let (label, bytes, advice): (String, [UInt8], String)
        if let folder = witDirectory ?? fromEnvironment {
            // Errors name what the user gave: the flag, or the variable.
            label = witDirectory != nil ? "--wit-directory \(folder)" : "WIT_DIR=\(folder)"
            bytes = try WasmTools.locate(for: label).encode(folder: folder, label: label)
            advice = "check that PAR_WASM_TOOLS (or wasm-tools on PATH) is the Bytecode Alliance's wasm-tools"
        } else if let witWorld {
            label = "--wit-world \(witWorld)"
            bytes = try readFile(witWorld, flag: "--wit-world", limit: InputLimits.witWorld)
            advice = "encode a WIT folder with --wit-directory DIR (or wasm-tools component wit DIR --wasm)"
        } else {
            return
        }
        do {
            try archive.setWorld(bytes)
        } catch {
            throw CLIError("\(label): \(error): \(advice)")
        }
    }
}

/// A JSON file's value, or an error naming the file.
func readSchema(_ path: String) throws -> JSONValue {
    let bytes = try readFile(path, flag: "--schema", limit: InputLimits.schema)
    do {
        return try JSONValue(parsing: bytes)
    } catch {
        throw CLIError("the schema \(path) is not valid JSON (\(error)): give a JSON schema file")
    }
}

/// A whole small file, or an error naming the flag it came from. The limit is checked as
/// the bytes arrive, so a huge file or an endless device (`/dev/zero`) costs no memory.
func readFile(_ path: String, flag: String, limit: Int) throws -> [UInt8] {
    do {
        let source = try FileSource(path: path)
        guard let bytes = try source.readAll(limit: limit) else {
            throw CLIError("\(flag) \(path) is larger than \(formatBytes(UInt64(limit))), the most par reads for it: give the right file")
        }
        return bytes
    } catch let error as FileError {
        throw CLIError("\(flag): \(error)")
    }
}
