import ArgumentParser
import Foundation
import PARBytes
import PARClaims
import PARHost
import PARNKeys
import PARRegistry

/// `par run`: start a provider the way a wasmCloud 1.x host does, from a verified,
/// content-addressed cache. wash has no such command.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Start a provider as a wasmCloud host does: this machine's binary, verified, from the cache.",
        discussion: """
            SOURCE is an archive file or a registry reference. par verifies the claims (signature, \
            --trusted-issuer, expiry) and the binary's hash on every run, from the very file it \
            then executes, and replaces itself with the provider: same process id, signals and \
            exit status. The provider gets no arguments, only RUST_LOG and OTEL_* from the \
            environment, and the host data on standard input (base64, then CRLF), as the host \
            sends them. A digest reference, or a tag with --offline, starts without the network.
            """
    )

    @Argument(help: "An archive file, a registry reference (REGISTRY/REPOSITORY:TAG or @sha256:DIGEST), or an image layout entry (oci:FOLDER:NAME, oci-archive:FILE:NAME).")
    var source: String

    @Option(name: .shortAndLong, help: "The target to run, as ARCH-OS (default: this machine's).", transform: Target.parsing)
    var target: Target = .native

    @Flag(help: "Never reach the registry: start from the cache, or fail.")
    var offline = false

    @OptionGroup(title: "Host data") var host: HostDataOptions
    @OptionGroup(title: "Cache") var cache: CacheOptions
    @OptionGroup(title: "Trust") var trust: TrustOptions
    @OptionGroup(title: "Registry (when SOURCE is a reference)") var registry: RegistryOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await output.runAsync { console in
            let providerSource = try archiveSource(source)
            var client: ProviderRegistry?
            if case .reference(let reference) = providerSource {
                // The registry's rule, applied before anything else: offline too, a moving
                // `latest` is taken only on purpose.
                try ProviderRegistry.checkTag(of: reference, allowsLatest: registry.allowLatest)
                if !offline { client = try await registry.client(for: reference, console: console) }
            }
            let prepared = try await closing(client) { client in
                try await cache.open().prepare(
                    providerSource, target: target, policy: trust.policy, offline: offline, registry: client,
                    allowsLatest: registry.allowLatest, events: { console.note($0.description) })
            }
            let document = try host.document(providerKey: prepared.claims.subject)
            // The registry client is shut down, its HTTP connections and their threads' work
            // ended, so nothing asynchronous is left: exec resets the signal state and closes
            // every descriptor but the provider's, whichever thread this is.
            try prepared.exec(hostDataDocument: document, environment: .inherited)
        }
    }
}

/// What `par run` tells the provider, as a host fills `HostData`: each field from a flag,
/// or the whole document from `--host-data`, never both.
struct HostDataOptions: ParsableArguments {
    @Option(help: "The host's server public key (N...); default: a new one.", transform: NKeyPublicKey.parsing)
    var hostID: NKeyPublicKey?

    @Option(help: "The lattice's NATS URL (default: nats://127.0.0.1:4222).")
    var latticeURL: String?

    @Option(help: "The lattice (default: default).")
    var latticePrefix: String?

    @Option(name: .customLong("config"), help: "Provider configuration KEY=VALUE; repeat for several.", transform: Annotation.parsing)
    var config: [Annotation] = []

    @Option(help: "The log level: error, warn, info, debug, trace or critical (default: info).")
    var logLevel: LogLevel?

    @Flag(help: "Ask the provider for structured (JSON) logs.")
    var structuredLogging = false

    @Option(help: "A JSON file: the initial link definitions, a list.")
    var linkDefinitions: String?

    @Option(help: "A JSON file: the whole host data document, an object, sent as it is (no other host data flag with it).")
    var hostData: String?

    /// The flags that set one field of the host data, when given.
    private var fieldFlagsGiven: [String] {
        [
            ("--host-id", hostID != nil), ("--lattice-url", latticeURL != nil), ("--lattice-prefix", latticePrefix != nil),
            ("--config", !config.isEmpty), ("--log-level", logLevel != nil), ("--structured-logging", structuredLogging),
            ("--link-definitions", linkDefinitions != nil),
        ].filter(\.1).map(\.0)
    }

    func validate() throws {
        if let hostID, hostID.role != .server {
            throw ValidationError("--host-id \(hostID) is a \(hostID.role) key: a host is a server key (N...)")
        }
        if let hostData {
            if let flag = fieldFlagsGiven.first {
                throw ValidationError("--host-data gives the whole document, so \(flag) cannot be given with it: put the field in the document, or leave out --host-data")
            }
            // Checked before anything is fetched: a document that is not one is a usage error.
            _ = try Self.hostDataDocument(hostData)
        }
    }

    /// The `--host-data` file's document, which must be a JSON object.
    private static func hostDataDocument(_ path: String) throws -> JSONValue {
        let bytes = try readFile(path, flag: "--host-data", limit: InputLimits.hostData)
        let document: JSONValue
        do {
            document = try JSONValue(parsing: bytes)
        } catch {
            throw ValidationError("--host-data \(path) is not valid JSON (\(error)): give the host data document")
        }
        guard case .object = document else {
            throw ValidationError("--host-data \(path) is not a JSON object: give the host data document, an object with host_id, provider_key and the other HostData fields")
        }
        return document
    }

    /// The host data document: the file given, or one made as the host makes it.
    func document(providerKey: NKeyPublicKey) throws -> JSONValue {
        if let hostData { return try Self.hostDataDocument(hostData) }
        var data = HostData(
            hostID: (hostID ?? NKeyPair.generate(role: .server).publicKey).encoded, providerKey: providerKey.encoded)
        if let latticeURL { data.latticeURL = latticeURL }
        if let latticePrefix { data.latticePrefix = latticePrefix }
        data.config = Dictionary(config.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
        if let logLevel { data.logLevel = logLevel.rawValue }
        data.structuredLogging = structuredLogging
        if let linkDefinitions {
            let bytes = try readFile(linkDefinitions, flag: "--link-definitions", limit: InputLimits.hostData)
            guard case .array(let links)? = try? JSONValue(parsing: bytes) else {
                throw CLIError("--link-definitions \(linkDefinitions) is not a JSON list: give a list of link definitions")
            }
            data.linkDefinitions = links
        }
        return data.json
    }
}

/// The host's log levels, as `HostData` spells them.
enum LogLevel: String, ExpressibleByArgument, CaseIterable {
    case error, warn, info, debug, trace, critical
}
