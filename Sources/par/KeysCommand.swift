import ArgumentParser
import Foundation
import ProviderArchiveKit

/// `par keys`: manage the wash-compatible key directory.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Generate, list and show nkeys in the key directory ($WASH_KEYS or ~/.wash/keys).",
        subcommands: [Generate.self, List.self, Show.self]
    )

    struct DirectoryOption: ParsableArguments {
        @Option(name: .shortAndLong, help: "The key directory (env WASH_KEYS; default ~/.wash/keys).")
        var directory: String?

        var keyDirectory: KeyDirectory { directory.map(KeyDirectory.init(path:)) ?? KeyDirectory.standard() }
    }

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate a key and save it as NAME_ROLE.nk (mode 0600).",
            discussion: "Roles: \(NKeyRole.allCases.map(\.name).joined(separator: ", ")). Prints the public key, never the seed."
        )

        @Argument(help: "The key's role: account, service, user, ...")
        var role: String

        @Option(name: .shortAndLong, help: "The file's name part (default: $USER).")
        var name: String?

        @OptionGroup var directory: DirectoryOption
        @OptionGroup var output: OutputOptions

        func run() throws {
            let console = Console(format: output.format)
            try console.run {
                guard let role = NKeyRole(name: role.lowercased()) else {
                    throw CLIError("unknown key role '\(role)': use one of \(NKeyRole.allCases.map(\.name).joined(separator: ", "))")
                }
                let pair = NKeyPair.generate(role: role)
                let name = name ?? KeyOptions.userName
                let path = try directory.keyDirectory.save(pair, name: name)
                switch console.format {
                case .text:
                    console.print("Generated \(role) key \(name) in \(path)")
                    console.print("Public key: \(pair.publicKey)")
                case .json:
                    console.printJSON(.object([
                        ("name", .string(name)), ("role", .string(role.name)),
                        ("public_key", .string(pair.publicKey.encoded)), ("path", .string(path)),
                    ]))
                }
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the keys in the key directory.")

        @OptionGroup var directory: DirectoryOption
        @OptionGroup var output: OutputOptions

        func run() throws {
            let console = Console(format: output.format)
            try console.run {
                let keys = directory.keyDirectory
                let entries = keys.list()
                switch console.format {
                case .text:
                    guard !entries.isEmpty else {
                        console.print("No keys in \(keys.path)")
                        return
                    }
                    for entry in entries {
                        console.print(entry.name.padding(toLength: 24, withPad: " ", startingAt: 0)
                            + entry.role.name.padding(toLength: 10, withPad: " ", startingAt: 0) + entry.publicKey.encoded)
                    }
                case .json:
                    console.printJSON(.array(entries.map { entry in
                        .object([
                            ("name", .string(entry.name)), ("role", .string(entry.role.name)),
                            ("public_key", .string(entry.publicKey.encoded)), ("path", .string(entry.path)),
                        ])
                    }))
                }
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a key's role and public key.")

        @Argument(help: "NAME_ROLE (as in NAME_ROLE.nk), or a key file's path.")
        var key: String

        @Flag(help: "Print the seed too. Keep it secret.")
        var seed = false

        @OptionGroup var directory: DirectoryOption
        @OptionGroup var output: OutputOptions

        func run() throws {
            let console = Console(format: output.format)
            try console.run {
                let keys = directory.keyDirectory
                let path: String
                if FileManager.default.fileExists(atPath: key), key.contains("/") || key.hasSuffix(".nk") {
                    path = key
                } else {
                    path = keys.path + "/" + (key.hasSuffix(".nk") ? key : key + ".nk")
                    guard FileManager.default.fileExists(atPath: path) else {
                        throw CLIError("no key file \(path): `par keys list` shows the keys there")
                    }
                }
                let pair = try KeyDirectory.readSeed(at: path, role: nil)
                switch console.format {
                case .text:
                    console.print("Role:       \(pair.role)")
                    console.print("Public key: \(pair.publicKey)")
                    if seed { console.print("Seed:       \(pair.seed)") }
                case .json:
                    var members: [(key: String, value: JSONValue)] = [
                        ("role", .string(pair.role.name)), ("public_key", .string(pair.publicKey.encoded)), ("path", .string(path)),
                    ]
                    if seed { members.append(("seed", .string(pair.seed))) }
                    console.printJSON(.object(members))
                }
            }
        }
    }
}
