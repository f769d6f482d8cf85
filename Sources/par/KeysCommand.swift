import ArgumentParser
import Foundation
import PARBytes
import PARNKeys

/// `par keys`: wash's `keys gen|get|list`, and par's `generate`/`show` for the key directory.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Generate, get and list nkeys, as `wash keys` does.",
        subcommands: [Gen.self, Get.self, List.self, Generate.self, Show.self]
    )

    @OptionGroup(visibility: .hidden) var output: OutputOptions

    /// `keys gen TYPE`: a new pair, printed, saved nowhere.
    struct Gen: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate a key pair and print it; nothing is saved.",
            discussion: "TYPE: account, user, module (or component), service (or provider), server (or host), operator, cluster, curve (or x25519)."
        )

        @Argument(help: "The key's type.", transform: NKeyRole.parsing)
        var keytype: NKeyRole

        @OptionGroup var output: OutputOptions

        func run() throws {
            try output.run { _ in
                let pair = NKeyPair.generate(role: keytype)
                return CommandResult(
                    text: [
                        "Public Key: \(pair.publicKey)", "Seed: \(pair.seed)", "",
                        "Remember that the seed is private, treat it as a secret.",
                    ],
                    json: [("public_key", .string(pair.publicKey.encoded)), ("seed", .string(pair.seed))])
            }
        }
    }

    /// `keys get NAME`: the seed alone, so `SEED=$(par keys get alice_account)` works.
    struct Get: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the seed of a key in the key directory.")

        @Argument(help: "The key's name, as keys list shows it (alice_account), with or without .nk.")
        var keyname: String

        @OptionGroup var directory: KeyDirectoryOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            try output.run { _ in
                let pair = try directory.readKey(named: keyname).pair
                return CommandResult(text: [pair.seed], json: [("seed", .string(pair.seed))])
            }
        }
    }

    /// `keys list`: the names of the keys, as `keys get` and `keys show` take them.
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the keys in the key directory.")

        @OptionGroup var directory: KeyDirectoryOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            try output.run { _ in
                let keys = directory.keyDirectory
                let entries = try keys.list()
                return CommandResult(
                    text: ["====== Keys found in \(keys.searchedPaths.joined(separator: ", ")) ======"]
                        + entries.map { $0.name.padding(toLength: 32, withPad: " ", startingAt: 0) + $0.publicKey.encoded },
                    json: [
                        ("keys", .strings(entries.map(\.name))),
                        ("details", .array(entries.map { entry in
                            .object([
                                ("name", .string(entry.name)), ("role", .string(entry.role.name)),
                                ("public_key", .string(entry.publicKey.encoded)), ("path", .string(entry.path)),
                            ])
                        })),
                    ])
            }
        }
    }

    /// `keys generate ROLE --name NAME`: par's, saves NAME_ROLE.nk (mode 0600).
    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate a key and save it as NAME_ROLE.nk (mode 0600); prints the public key, never the seed."
        )

        @Argument(help: "The key's type: account, service, user, ... (as keys gen takes them).", transform: NKeyRole.parsing)
        var role: NKeyRole

        @Option(name: .shortAndLong, help: "The file's name part (default: $USER).")
        var name: String?

        @OptionGroup var directory: KeyDirectoryOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            if let name, !KeyDirectory.isValidName(name) {
                throw ValidationError("--name '\(TerminalText.escaped(name))' is not a key name: use letters, digits, '-' and '_'")
            }
        }

        func run() throws {
            try output.run { _ in
                let pair = NKeyPair.generate(role: role)
                let name = try name ?? KeyOptions.userName()
                let path = try directory.keyDirectory.save(pair, name: name)
                return CommandResult(
                    text: ["Generated \(role) key \(name)_\(role.name) in \(path)", "Public key: \(pair.publicKey)"],
                    json: [
                        ("name", .string(name + "_" + role.name)), ("role", .string(role.name)),
                        ("public_key", .string(pair.publicKey.encoded)), ("path", .string(path)),
                    ])
            }
        }
    }

    /// `keys show NAME`: par's, a key's role and public key, and its seed only with --seed.
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a key's role and public key.")

        @Argument(help: "The key's name, as keys list shows it (alice_account), or a key file's path.")
        var key: String

        @Flag(help: "Print the seed too. Keep it secret.")
        var seed = false

        @OptionGroup var directory: KeyDirectoryOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            try output.run { _ in
                let (path, pair) = try directory.readKey(named: key)
                return CommandResult(
                    text: ["Role:       \(pair.role)", "Public key: \(pair.publicKey)"] + (seed ? ["Seed:       \(pair.seed)"] : []),
                    json: [("role", .string(pair.role.name)), ("public_key", .string(pair.publicKey.encoded)), ("path", .string(path))]
                        + (seed ? [("seed", .string(pair.seed))] : []))
            }
        }
    }
}

/// A key file by name (`alice_account`, `.nk` optional) in the key directory, or a path.
func keyFile(named name: String, in keys: KeyDirectory) throws -> String {
    if name.contains("/"), FileManager.default.fileExists(atPath: name) { return name }
    guard let file = keys.file(named: name) else {
        throw CLIError("no key named \(name) in \(keys.searchedPaths.joined(separator: " or ")): `par keys list` shows the keys there")
    }
    return file
}
