import ArgumentParser
import Foundation
import PARRegistry
import ProviderArchiveKit

/// `par pull`: download an archive from an OCI registry, verified before it is written.
struct PullCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Pull an archive from an OCI registry; it is written only once verified.",
        discussion: "REF is REGISTRY[:PORT]/REPOSITORY:TAG or REGISTRY/REPOSITORY@sha256:DIGEST."
    )

    @Argument(help: "What to pull.")
    var reference: String

    @Option(name: .shortAndLong, help: "Where to write it (default: ./REPOSITORY-NAME.par or .par.gz).")
    var destination: String?

    @Option(help: "The manifest digest to require, with or without sha256:.")
    var digest: String?

    @Option(name: .customLong("issuer"), help: "An account public key to trust; repeat for several. Default: any.")
    var issuers: [String] = []

    @OptionGroup(title: "Registry")
    var registry: RegistryOptions

    @OptionGroup var output: OutputOptions

    func run() async throws {
        let console = Console(format: output.format)
        try await console.run {
            let reference = try parseReference(reference)
            let trusted = try parseTrustedIssuers(issuers)
            let target: PullDestination
            if let destination {
                try checkDestinationFolder(destination, flag: "--destination")
                target = .path(destination)
            } else {
                target = .named(folder: ".", name: String(reference.repository.split(separator: "/").last ?? "archive"))
            }
            let pinned = try digest.map { text in
                guard let pinned = Digest(pinning: text) else {
                    throw CLIError("--digest \(text) is not a SHA-256 digest: give sha256: and 64 hex digits, or the 64 digits")
                }
                return pinned
            }
            let client = try registry.client(for: reference, console: console)
            let progress = console.progress("pulling")
            defer { progress.finish() }
            let result = try await client.pull(
                reference, to: target, expectedDigest: pinned, allowLatest: registry.allowLatest,
                policy: VerificationPolicy(trustedIssuers: trusted), progress: { progress.update($0, of: $1) })
            progress.finish()
            switch console.format {
            case .text:
                console.print("Pulled \(reference) to \(result.path) (verified)")
                console.print("Digest: \(result.manifestDigest)")
            case .json:
                var members: [(key: String, value: JSONValue)] = [
                    ("file", .string(result.path)), ("digest", .string(result.manifestDigest.description)),
                    ("layer_digest", .string(result.layerDigest.description)),
                ]
                members += washSummary(result.archive.claims)
                console.printJSON(.object(members))
            }
        }
    }
}
