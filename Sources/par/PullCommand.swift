import ArgumentParser
import Foundation
import PARBytes
import PARRegistry
import ProviderArchiveKit

/// `par pull`: download an archive from an OCI registry, verified before it is written, as
/// `wash pull` does.
struct PullCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Pull an archive from an OCI registry; it is written only once verified.",
        discussion: "URL is REGISTRY[:PORT]/REPOSITORY:TAG or REGISTRY/REPOSITORY@sha256:DIGEST, or REPOSITORY:TAG with -r/--registry."
    )

    @OptionGroup var remote: RegistryReferenceOptions

    @Option(help: "Where to write it (default: ./REPOSITORY-NAME.par or .par.gz).")
    var destination: String?

    @Option(name: .shortAndLong, help: "The manifest digest to require, with or without sha256:.", transform: SHA256Hash.parsing)
    var digest: SHA256Hash?

    @OptionGroup(title: "Trust") var trust: TrustOptions

    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await output.runAsync { console in
            let reference = try remote.reference
            let target: PullDestination
            if let destination {
                try checkDestinationFolder(destination, flag: "--destination")
                target = .path(destination)
            } else {
                target = .named(folder: ".", name: String(reference.repository.split(separator: "/").last ?? "archive"))
            }
            let client = try remote.registry.client(for: reference, console: console)
            let result = try await console.withTransferProgress("pulling") { progress in
                try await client.pull(
                    reference, to: target, expectedDigest: digest, allowLatest: remote.registry.allowLatest, policy: trust.policy,
                    progress: progress)
            }
            return CommandResult(
                text: ["Successfully pulled and validated \(result.path)", "Digest: \(result.manifestDigest.ociDigest)"],
                json: [
                    ("file", .string(result.path)), ("digest", .string(result.manifestDigest.ociDigest)),
                    ("layer_digest", .string(result.layerDigest.ociDigest)),
                ] + washSummary(result.archive.claims))
        }
    }
}
