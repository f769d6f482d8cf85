import ArgumentParser
import Foundation
import PARRegistry
import ProviderArchiveKit

/// How to reach a registry: transport (`--insecure`, `--ca-file`,
/// `--insecure-skip-tls-verify`, `--timeout`), credentials (`--user` with `--password` or
/// `--password-stdin`, WASH_REG_USER/WASH_REG_PASSWORD, then docker's config), `--allow-latest`.
struct RegistryOptions: ParsableArguments {
    @Flag(help: "Accept the tag 'latest', or a reference with no tag.")
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

    @Option(help: "Seconds a transfer may go on moving less than 1 KiB before it fails (default 30).")
    var timeout: Int = 30

    func validate() throws {
        if password != nil && passwordStdin {
            throw ValidationError("--password and --password-stdin both give the password: use one")
        }
        if insecure && insecureSkipTLSVerify {
            throw ValidationError("--insecure uses plain HTTP, which has no TLS to skip: use one of them")
        }
        guard timeout > 0 else { throw ValidationError("--timeout must be a whole number of seconds above 0") }
    }

    /// A client configured from the flags, the environment and docker's config, in that
    /// order of precedence for credentials.
    func client(for reference: ImageReference, console: Console) throws -> ProviderRegistry {
        let environment = ProcessInfo.processInfo.environment
        var authorityFiles = caFiles
        if let listed = environment["WASH_REG_CA_FILE"], !listed.isEmpty {
            authorityFiles += listed.split(separator: ":").map(String.init)
        }
        if insecureSkipTLSVerify {
            console.note("warning: --insecure-skip-tls-verify: the registry's certificate is not checked; anyone on the network path can read and change what is sent, credentials included")
        }
        return ProviderRegistry(
            insecure: insecure, credentials: try credentials(for: reference, environment: environment),
            tls: RegistryTLS(certificateAuthorityFiles: authorityFiles, verifiesCertificates: !insecureSkipTLSVerify),
            limits: RegistryLimits(window: .seconds(timeout)),
            events: { console.note($0.description) })
    }

    /// `--user` with `--password` or `--password-stdin`; else WASH_REG_USER/WASH_REG_PASSWORD;
    /// else what docker saved for the registry; else none.
    private func credentials(for reference: ImageReference, environment: [String: String]) throws -> RegistryCredentials? {
        if passwordStdin {
            guard let user = user ?? environment["WASH_REG_USER"] else {
                throw CLIError("--password-stdin needs --user (or WASH_REG_USER) to go with the password")
            }
            return RegistryCredentials(user: user, password: try Self.readPasswordFromStandardInput())
        }
        if let user = user ?? environment["WASH_REG_USER"] {
            return RegistryCredentials(user: user, password: password ?? environment["WASH_REG_PASSWORD"] ?? "")
        }
        return try DockerCredentials.standard(environment: environment)?.credentials(for: reference)
    }

    /// The first line of standard input, without its line ending.
    private static func readPasswordFromStandardInput() throws -> String {
        let data = FileHandle.standardInput.readDataToEndOfFile()
        var text = String(decoding: data, as: UTF8.self)
        if let newline = text.firstIndex(where: \.isNewline) { text = String(text[..<newline]) }
        guard !text.isEmpty else { throw CLIError("--password-stdin: standard input holds no password") }
        return text
    }
}

/// A reference from the command line, lowercased as wash does; a repository without a
/// registry host gets `registry` (`-r/--registry`, env WASH_REG_URL) in front.
func parseReference(_ text: String, registry: String? = nil) throws -> ImageReference {
    var reference = text.trimmingCharacters(in: .whitespaces).lowercased()
    let first = reference.prefix(while: { $0 != "/" })
    let namesRegistry = reference.contains("/") && (first.contains(".") || first.contains(":") || first == "localhost")
    let given = registry ?? ProcessInfo.processInfo.environment["WASH_REG_URL"]
    if !namesRegistry, let given, !given.isEmpty {
        reference = given.trimmingCharacters(in: .whitespaces).lowercased() + "/" + reference
    }
    do {
        return try ImageReference(reference)
    } catch {
        throw CLIError("\(error)")
    }
}

/// For `inspect` and `verify`: an existing file is used as is; a registry reference is pulled
/// into a temporary folder first (verified there by the pull).
func localArchive(
    _ argument: String, registry: RegistryOptions, digest: String?, console: Console
) async throws -> (path: String, cleanup: () -> Void) {
    if FileManager.default.fileExists(atPath: argument) || !ImageReference.looksLikeReference(argument) {
        return (argument, {})
    }
    let reference = try parseReference(argument, registry: nil)
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("par-pull-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let cleanup = { _ = try? FileManager.default.removeItem(atPath: folder) }
    do {
        // Expiry and issuers are the caller's to check; the pull checks digests and the signature.
        let result = try await registry.client(for: reference, console: console).pull(
            reference, to: .named(folder: folder, name: "archive"), expectedDigest: try parseDigest(digest),
            allowLatest: registry.allowLatest, policy: VerificationPolicy(allowsExpired: true))
        return (result.path, cleanup)
    } catch {
        cleanup()
        throw CLIError("\(error)")
    }
}

/// A `-d/--digest` a person typed: with or without `sha256:`, either case.
func parseDigest(_ text: String?) throws -> Digest? {
    guard let text else { return nil }
    guard let digest = Digest(pinning: text) else {
        throw CLIError("--digest \(text) is not a SHA-256 digest: give sha256: and 64 hex digits, or the 64 digits")
    }
    return digest
}
