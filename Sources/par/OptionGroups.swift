import ArgumentParser
import Foundation
import PARClaims
import PARNKeys
import PARRegistry

// The option groups commands share through `@OptionGroup`, each checking its own
// combinations in `validate()`.

/// How a command reports: text for people, JSON for scripts.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text
    case json
}

/// `-o/--output text|json`, shared by every command (wash's global flag; see `GlobalOutput`).
struct OutputOptions: ParsableArguments {
    @Option(name: [.customShort("o"), .customLong("output")], help: "Output format: text or json.")
    var format: OutputFormat = .text

    /// Where the command's words go, in this format.
    var console: Console { Console(format: format) }

    /// Runs a command body with its console and prints its result (``Console/run(_:)``).
    func run(_ body: (Console) throws -> CommandResult) throws {
        let console = console
        try console.run { try body(console) }
    }

    /// Runs an async command body with its console and prints its result.
    func runAsync(_ body: (Console) async throws -> CommandResult) async throws {
        let console = console
        try await console.runAsync { try await body(console) }
    }
}

/// Which archives to trust, for the commands that verify (extract, verify, pull): par's own
/// flags, named so they mean nothing else in wash (whose `--issuer` is a signing seed).
struct TrustOptions: ParsableArguments {
    @Option(
        name: .customLong("trusted-issuer"), help: "An account public key to trust; repeat for several. Default: any.",
        transform: NKeyPublicKey.parsing)
    var issuers: [NKeyPublicKey] = []

    @Flag(help: "Accept claims that have expired or are not valid yet.")
    var allowExpired = false

    func validate() throws {
        if let other = issuers.first(where: { $0.role != .account }) {
            throw ValidationError("--trusted-issuer \(other) is a \(other.role) key: claims are signed by account keys (A...)")
        }
    }

    /// The verification policy the flags ask for.
    var policy: VerificationPolicy {
        VerificationPolicy(trustedIssuers: issuers.isEmpty ? nil : Set(issuers), allowsExpired: allowExpired)
    }
}

/// `-d/--directory`: the key directory, for every command that reads or saves keys.
struct KeyDirectoryOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "The key directory (env WASH_KEYS; default: wash 0.43's, WASH_KEYS_DIR or the data folder's wash/keys, else ~/.wash/keys).")
    var directory: String?

    /// The folder the flag names, or wash's.
    var keyDirectory: KeyDirectory {
        directory.map { KeyDirectory(path: $0) } ?? KeyDirectory.standard()
    }

    /// The key a `keys` command names: a key file by name in the key directory, or a path
    /// (``keyFile(named:in:)``), and the key pair it holds, of any role.
    func readKey(named name: String) throws -> (path: String, pair: NKeyPair) {
        let path = try keyFile(named: name, in: keyDirectory)
        return (path, try KeyDirectory.readSeed(at: path, role: nil))
    }
}

/// The signing keys of `create` and `insert`, resolved as wash resolves them.
struct KeyOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "The account seed that signs the archive, or a file holding it (env WASH_ISSUER_KEY).")
    var issuer: String?

    @Option(name: .shortAndLong, help: "The provider's service seed, or a file holding it (env WASH_SUBJECT_KEY).")
    var subject: String?

    @OptionGroup var directory: KeyDirectoryOptions

    @Flag(help: "Fail instead of generating keys that are missing from the key directory.")
    var disableKeygen = false

    var issuerValue: String? { issuer ?? ProcessInfo.processInfo.environment["WASH_ISSUER_KEY"] }
    var subjectValue: String? { subject ?? ProcessInfo.processInfo.environment["WASH_SUBJECT_KEY"] }
}

/// How to reach a registry: transport (`--insecure`, `--ca-file`,
/// `--insecure-skip-tls-verify`, `--timeout`), credentials (`--user` with `--password` or
/// `--password-stdin`, WASH_REG_USER/WASH_REG_PASSWORD, then docker's config), `--allow-latest`.
struct RegistryOptions: ParsableArguments {
    /// The longest `--timeout`: a day.
    static let maximumTimeout = 86_400

    @Flag(help: "Accept the tag 'latest', a reference with no tag, or an image layout entry named 'latest'.")
    var allowLatest = false

    @Flag(help: "Use plain HTTP, for a local registry.")
    var insecure = false

    @Flag(help: "Do not verify the registry's TLS certificate (unsafe: anyone on the path can read and change the traffic).")
    var insecureSkipTLSVerify = false

    @Option(name: .customLong("ca-file"), help: "A PEM file of CA certificates to trust besides the system's; repeat for several (env WASH_REG_CA_FILE, paths separated by ':').")
    var caFiles: [String] = []

    @Option(name: .shortAndLong, help: "The registry user (env WASH_REG_USER).")
    var user: String?

    @Option(name: .shortAndLong, help: "The registry password (env WASH_REG_PASSWORD); --password-stdin keeps it out of the process list.")
    var password: String?

    @Flag(help: "Read the password from standard input (one line).")
    var passwordStdin = false

    @Option(help: "Seconds a transfer may go on moving less than 1 KiB before it fails (1 to 86400, default 30).")
    var timeout: Int = 30

    func validate() throws {
        if password != nil && passwordStdin {
            throw ValidationError("--password and --password-stdin both give the password: use one")
        }
        if passwordStdin && user == nil && ProcessInfo.processInfo.environment["WASH_REG_USER"] == nil {
            throw ValidationError("--password-stdin needs --user (or WASH_REG_USER) to go with the password")
        }
        if insecure && insecureSkipTLSVerify {
            throw ValidationError("--insecure uses plain HTTP, which has no TLS to skip: use one of them")
        }
        guard (1...Self.maximumTimeout).contains(timeout) else {
            throw ValidationError("--timeout must be a whole number of seconds from 1 to \(Self.maximumTimeout)")
        }
    }
}

/// Where a push or pull goes: the reference, `-r/--registry` for one that names no registry
/// (wash's flag), and how to reach the registry.
struct RegistryReferenceOptions: ParsableArguments {
    @Argument(
        help: "REGISTRY[:PORT]/REPOSITORY:TAG, or REPOSITORY:TAG with -r (lowercased, as wash does); or an image layout, oci:FOLDER:NAME or oci-archive:FILE:NAME.",
        transform: ReferenceText.parsing)
    var url: ReferenceText

    @Option(
        // --registry-url: par's spelling before it matched wash's, kept for scripts using it.
        name: [.customShort("r"), .customLong("registry"), .customLong("registry-url")],
        help: "The registry, for a URL without one (env WASH_REG_URL).")
    var registryURL: String?

    @OptionGroup(title: "Registry") var registry: RegistryOptions

    func validate() throws {
        if url.layout == nil { _ = try reference }
    }

    /// The image layout the arguments name instead of a registry reference, if they do.
    var layout: OCILayoutReference? { url.layout }

    /// The reference the arguments name: the URL, with the registry in front when it names none.
    ///
    /// - Throws: ``ValidationError`` (a usage error) when it names no registry anywhere.
    var reference: ImageReference {
        get throws {
            do {
                return try url.resolved(registry: registryURL ?? ProcessInfo.processInfo.environment["WASH_REG_URL"])
            } catch {
                throw ValidationError("\(error)")
            }
        }
    }
}

/// What differs between the two registries of a `par cp`: one of these for the source
/// (`--src-...`), one for the destination (`--dest-...`), each before the shared registry
/// flags, as skopeo's `--src-*`/`--dest-*` are.
struct SideRegistryOptions {
    var insecure = false
    var user: String?
    var password: String?
    var caFiles: [String] = []
}

/// Which side of `par cp` a group of registry flags is for: its flags' prefix and its name.
protocol CopySide {
    static var prefix: String { get }
    static var name: String { get }
}

/// The source of `par cp`: `--src-...`.
enum SourceSide: CopySide {
    static let prefix = "src"
    static let name = "source"
}

/// The destination of `par cp`: `--dest-...`.
enum DestinationSide: CopySide {
    static let prefix = "dest"
    static let name = "destination"
}

/// `par cp`'s flags for one side's registry, named after the side (`--src-user`,
/// `--dest-user`, ...).
struct SideRegistryFlags<Side: CopySide>: ParsableArguments {
    @Flag(name: .customLong("\(Side.prefix)-insecure"), help: ArgumentHelp("Use plain HTTP for the \(Side.name) registry."))
    var insecure = false

    @Option(name: .customLong("\(Side.prefix)-user"), help: ArgumentHelp("The \(Side.name) registry's user."))
    var user: String?

    @Option(name: .customLong("\(Side.prefix)-password"), help: ArgumentHelp("The \(Side.name) registry's password."))
    var password: String?

    @Option(
        name: .customLong("\(Side.prefix)-ca-file"),
        help: ArgumentHelp("A PEM file of CA certificates to trust for the \(Side.name) registry; repeat for several."))
    var caFiles: [String] = []

    func validate() throws {
        if password != nil, user == nil {
            throw ValidationError("--\(Side.prefix)-password needs --\(Side.prefix)-user to go with it")
        }
    }

    var side: SideRegistryOptions { SideRegistryOptions(insecure: insecure, user: user, password: password, caFiles: caFiles) }
}
