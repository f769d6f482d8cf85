import ArgumentParser
import Foundation
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

    @Argument(help: "What to pull.")
    var url: String

    @Option(help: "Where to write it (default: ./REPOSITORY-NAME.par or .par.gz).")
    var destination: String?

    @Option(name: .shortAndLong, help: "The registry, for a URL without one (env WASH_REG_URL).")
    var registryURL: String?

    @Option(name: .shortAndLong, help: "The manifest digest to require, with or without sha256:.")
    var digest: String?

    @OptionGroup(title: "Trust")
    var trust: TrustOptions

    @OptionGroup(title: "Registry")
    var registry: RegistryOptions

    @OptionGroup var output: OutputOptions

    func run() async throws {
        let console = Console(format: output.format)
        try await console.run {
            let reference = try parseReference(url, registry: registryURL)
            let pinned = try parseDigest(digest)
            let target: PullDestination
            if let destination {
                try checkDestinationFolder(destination, flag: "--destination")
                target = .path(destination)
            } else {
                target = .named(folder: ".", name: String(reference.repository.split(separator: "/").last ?? "archive"))
            }
            let client = try registry.client(for: reference, console: console)
            let policy = try trust.policy()
            let result = try await console.withProgress("pulling") { progress in
                try await client.pull(
                    reference, to: target, expectedDigest: pinned, allowLatest: registry.allowLatest, policy: policy,
                    progress: progress)
            }
            switch console.format {
            case .text:
                console.print("Successfully pulled and validated \(result.path)")
                console.print("Digest: \(result.manifestDigest)")
            case .json:
                console.printJSON(
                    [("file", .string(result.path)), ("digest", .string(result.manifestDigest.description)),
                     ("layer_digest", .string(result.layerDigest.description))] + washSummary(result.archive.claims))
            }
        }
    }
}
