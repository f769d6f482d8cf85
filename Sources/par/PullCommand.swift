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

    @Option(
        name: .customLong("target"), help: "Of an image index of platform slices, the slice to take (ARCH-OS; default: this machine's).",
        transform: Target.parsing)
    var target: Target?

    @Flag(help: "Of an image index of platform slices, take every slice and rebuild the full archive (verified whole).")
    var allTargets = false

    @OptionGroup(title: "Trust") var trust: TrustOptions

    @OptionGroup var output: OutputOptions

    func validate() throws {
        if target != nil, allTargets { throw ValidationError("--target and --all-targets exclude each other: take one slice, or all") }
    }

    func run() async throws {
        try await output.runAsync { console in
            let destination: PullDestination
            let platform: PlatformChoice = allTargets ? .allTargets : target.map { .target($0) } ?? .native
            let result: ProviderRegistry.PullResult
            if let layout = remote.layout {
                // From a layout: the default name is the entry's, else the folder's or file's.
                let name = layout.tag ?? URL(fileURLWithPath: layout.path).deletingPathExtension().lastPathComponent
                destination = try self.destination(default: name)
                do {
                    result = try await ProviderRegistry.pull(
                        fromLayout: layout, to: destination, expectedDigest: digest, policy: trust.policy, platform: platform,
                        allowsLatest: remote.registry.allowLatest)
                } catch {
                    throw CLIError(ErrorHints.message(for: error))
                }
            } else {
                let reference = try remote.reference
                destination = try self.destination(default: String(reference.repository.split(separator: "/").last ?? "archive"))
                result = try await remote.registry.withClient(for: reference, console: console) { client in
                    try await console.withTransferProgress("pulling") { progress in
                        try await client.pull(
                            reference, to: destination, expectedDigest: digest, policy: trust.policy, platform: platform, progress: progress)
                    }
                }
            }
            var text = ["Successfully pulled and validated \(result.path)", "Digest: \(result.manifestDigest.ociDigest)"]
            if !result.slices.isEmpty {
                text.append(
                    result.archive.kind.isPlatformSlice
                        ? "From an image index: \(result.archive.kind)"
                        : "Rebuilt from an image index of \(result.slices.count) platform slices: \(result.archive.kind)")
            }
            var json: [(key: String, value: JSONValue)] = [
                ("file", .string(result.path)), ("digest", .string(result.manifestDigest.ociDigest)),
            ]
            // An archive rebuilt from every slice came from no single layer.
            if !(allTargets && !result.slices.isEmpty) { json.append(("layer_digest", .string(result.layerDigest.ociDigest))) }
            if !result.slices.isEmpty { json.append(("slices", sliceDetails(result.slices))) }
            return CommandResult(text: text, json: json + washSummary(result.archive.claims) + archiveKindDetails(result.archive))
        }
    }

    /// `--destination`, checked, or `./NAME.par[.gz]`.
    private func destination(default name: String) throws -> PullDestination {
        guard let path = destination else { return .named(folder: ".", name: name) }
        try checkDestinationFolder(path, flag: "--destination")
        return .path(path)
    }
}
