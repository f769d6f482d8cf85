import Foundation
import PARBytes
import PARClaims
import PARHost
import PARRegistry

extension RegistryOptions {
    /// Runs `body` with a client for `reference` (see ``client(for:console:)``), then shuts
    /// the client's HTTP connections down, whether `body` returned or threw.
    func withClient<Result>(
        for reference: ImageReference, console: Console, _ body: (ProviderRegistry) async throws -> Result
    ) async throws -> Result {
        try await closing(try await client(for: reference, console: console), body)
    }

    /// A client configured from the flags, the environment and docker's config, in that
    /// order of precedence for credentials; `side`'s flags (`par cp`'s `--src-*`/`--dest-*`)
    /// come before all of them. Its caller shuts it down (``closing(_:_:)``). Reading standard
    /// input and asking a docker credential helper wait: on a thread of their own.
    func client(for reference: ImageReference, console: Console, side: SideRegistryOptions? = nil) async throws -> ProviderRegistry {
        let environment = ProcessInfo.processInfo.environment
        var authorityFiles = caFiles + (side?.caFiles ?? [])
        if let listed = environment["WASH_REG_CA_FILE"], !listed.isEmpty {
            authorityFiles += listed.split(separator: ":").map(String.init)
        }
        if insecureSkipTLSVerify {
            console.note("warning: --insecure-skip-tls-verify: the registry's certificate is not checked; anyone on the network path can read and change what is sent, credentials included")
        }
        let credentials =
            if let user = side?.user { RegistryCredentials(user: user, password: side?.password ?? "") } else {
                try await offload { [self] in try self.credentials(for: reference, environment: environment) }
            }
        return ProviderRegistry(
            insecure: insecure || side?.insecure == true, allowsLatest: allowLatest, credentials: credentials,
            tls: RegistryTLS(certificateAuthorityFiles: authorityFiles, verifiesCertificates: !insecureSkipTLSVerify),
            limits: RegistryLimits(window: .seconds(timeout)),
            events: { console.note($0.description) })
    }

    /// `--user` with `--password` or `--password-stdin`; else WASH_REG_USER/WASH_REG_PASSWORD;
    /// else what docker saved for the registry; else none.
    private func credentials(for reference: ImageReference, environment: [String: String]) throws -> RegistryCredentials? {
        if passwordStdin { return try standardInputCredentials(environment: environment) }
        if let user = user ?? environment["WASH_REG_USER"] {
            return RegistryCredentials(user: user, password: password ?? environment["WASH_REG_PASSWORD"] ?? "")
        }
        return try DockerCredentials.standard(environment: environment)?.credentials(for: reference)
    }

    /// `--user` (or WASH_REG_USER; validate() made sure there is one) with the password
    /// `--password-stdin` reads.
    func standardInputCredentials(environment: [String: String]) throws -> RegistryCredentials {
        RegistryCredentials(user: user ?? environment["WASH_REG_USER"] ?? "", password: try Self.readPasswordFromStandardInput())
    }

    /// The most bytes `--password-stdin` reads: tokens are a few KiB.
    static let maximumPasswordSize = 64 << 10

    /// The first line of standard input, without its line ending. Bounded while reading, so
    /// an input that never ends (`< /dev/zero`) is refused, not read forever.
    static func readPasswordFromStandardInput() throws -> String {
        let input = FileSource(borrowing: 0, path: "standard input")
        guard let bytes = try input.readAll(limit: maximumPasswordSize) else {
            throw CLIError("--password-stdin: standard input holds more than \(maximumPasswordSize >> 10) KiB, more than a password or token: give the password alone")
        }
        var text = String(decoding: bytes, as: UTF8.self)
        if let newline = text.firstIndex(where: \.isNewline) { text = String(text[..<newline]) }
        guard !text.isEmpty else { throw CLIError("--password-stdin: standard input holds no password") }
        return text
    }
}

/// For `inspect` and `verify`: an existing file is used as is; a registry reference, or an
/// image layout (`oci:`, `oci-archive:`), is pulled into a temporary folder first (verified
/// there by the pull; of an image index, the slice `platform` chooses). `pulled` says what
/// the pull found.
func localArchive(
    _ argument: String, registry: RegistryOptions, digest: SHA256Hash?, platform: PlatformChoice = .native, console: Console
) async throws -> (path: String, cleanup: () -> Void, pulled: ProviderRegistry.PullResult?) {
    // Expiry and issuers are the caller's to check; the pull checks digests and the signature.
    let policy = VerificationPolicy(allowsExpired: true)
    let pull: (PullDestination) async throws -> ProviderRegistry.PullResult
    switch try archiveSource(argument) {
    case .file:
        return (argument, {}, nil)
    case .layout(let layout):
        pull = { destination in
            try await ProviderRegistry.pull(
                fromLayout: layout, to: destination, expectedDigest: digest, policy: policy, platform: platform,
                allowsLatest: registry.allowLatest)
        }
    case .reference(let reference):
        pull = { destination in
            try await registry.withClient(for: reference, console: console) { client in
                try await client.pull(reference, to: destination, expectedDigest: digest, policy: policy, platform: platform)
            }
        }
    }
    let folder = try System.makeTemporaryFolder(prefix: System.temporaryFolder + "/par-pull-")
    // It holds one file: removing it is an unlink and a rmdir, not a tree walk.
    let cleanup = { _ = try? FileManager.default.removeItem(atPath: folder) }
    do {
        let result = try await pull(.named(folder: folder, name: "archive"))
        return (result.path, cleanup, result)
    } catch {
        cleanup()
        throw CLIError(ErrorHints.message(for: error))
    }
}

/// What an archive argument (`run`, `inspect`, `verify`) names: an image layout (`oci:`,
/// `oci-archive:`) or a registry reference, unless a file of that name exists; else a file.
func archiveSource(_ argument: String) throws -> ProviderSource {
    if !FileManager.default.fileExists(atPath: argument), let layout = try OCILayoutReference(argument) { return .layout(layout) }
    if let reference = registryReference(argument) { return .reference(reference) }
    return .file(argument)
}

/// The reference an `inspect` or `verify` argument names, or `nil` when it is a file: an
/// existing file, or anything that is not a complete reference, is taken as a path.
func registryReference(_ argument: String) -> ImageReference? {
    guard !FileManager.default.fileExists(atPath: argument), ImageReference.looksLikeReference(argument),
        let text = try? ReferenceText(commandLine: argument)
    else { return nil }
    return try? text.resolved(registry: nil)
}

/// Runs `body` with a registry client, if any, then shuts its HTTP connections down
/// (``ProviderRegistry/shutdown()``), whether `body` returned or threw.
func closing<Client, Result>(
    _ client: Client, _ body: (Client) async throws -> Result
) async throws -> Result where Client: RegistryClosing {
    do {
        let result = try await body(client)
        await client.shutdownRegistry()
        return result
    } catch {
        await client.shutdownRegistry()
        throw error
    }
}

/// A registry client, or an optional one, that ``closing(_:_:)`` shuts down.
protocol RegistryClosing {
    func shutdownRegistry() async
}

extension ProviderRegistry: RegistryClosing {
    func shutdownRegistry() async { await shutdown() }
}

extension Optional: RegistryClosing where Wrapped == ProviderRegistry {
    func shutdownRegistry() async { await self?.shutdown() }
}
