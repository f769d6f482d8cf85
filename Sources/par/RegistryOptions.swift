import ArgumentParser
import Foundation
import PARRegistry
import ProviderArchiveKit

/// How to reach a registry: `--insecure`, `--user`, `--password` (env WASH_REG_USER,
/// WASH_REG_PASSWORD), `--allow-latest`.
struct RegistryOptions: ParsableArguments {
    @Flag(help: "Accept the tag 'latest', or a reference with no tag.")
    var allowLatest = false

    @Flag(help: "Use plain HTTP, for a local registry.")
    var insecure = false

    @Option(name: .shortAndLong, help: "The registry user (env WASH_REG_USER).")
    var user: String?

    @Option(name: .shortAndLong, help: "The registry password (env WASH_REG_PASSWORD).")
    var password: String?

    var client: ProviderRegistry {
        let environment = ProcessInfo.processInfo.environment
        let user = self.user ?? environment["WASH_REG_USER"]
        let password = self.password ?? environment["WASH_REG_PASSWORD"]
        let credentials = user.map { RegistryCredentials(user: $0, password: password ?? "") }
        return ProviderRegistry(insecure: insecure, credentials: credentials)
    }
}

/// A reference from the command line, or an error naming the problem.
func parseReference(_ text: String) throws -> ImageReference {
    do {
        return try ImageReference(text)
    } catch {
        throw CLIError("\(error)")
    }
}

/// For `inspect` and `verify`: an existing file is used as is; a registry reference is pulled
/// into a temporary folder first (verified there by the pull).
func localArchive(_ argument: String, registry: RegistryOptions, console: Console) async throws -> (path: String, cleanup: () -> Void) {
    if FileManager.default.fileExists(atPath: argument) || !ImageReference.looksLikeReference(argument) {
        return (argument, {})
    }
    let reference = try parseReference(argument)
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("par-pull-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let cleanup = { _ = try? FileManager.default.removeItem(atPath: folder) }
    do {
        // Expiry and issuers are the caller's to check; the pull checks digests and the signature.
        let result = try await registry.client.pull(
            reference, to: .named(folder: folder, name: "archive"), allowLatest: registry.allowLatest,
            policy: VerificationPolicy(allowsExpired: true))
        return (result.path, cleanup)
    } catch {
        cleanup()
        throw CLIError("\(error)")
    }
}
