import ArgumentParser
import Foundation
import PARBytes
import PARRegistry
import ProviderArchiveKit

/// `par cp`: carry a provider between registries and OCI image layouts, each archive verified.
struct CopyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cp",
        abstract: "Copy a provider between registries and OCI image layouts, verifying every archive on the way.",
        discussion: """
            SOURCE and DESTINATION are each a registry reference (REGISTRY[:PORT]/REPOSITORY:TAG), \
            oci:FOLDER[:NAME] (an OCI image layout, as skopeo writes one) or oci-archive:FILE[:NAME] (a tar of one). \
            A provider or an image index with all its platform slices is copied, manifests byte for byte, so every \
            digest is kept. Every archive and slice is verified from the source's bytes (signature, --trusted-issuer, \
            expiry, every hash) before the destination's tag or name is written, last. Without a tag or name, the \
            destination takes the source's.
            """
    )

    @Argument(
        help: ArgumentHelp("Where the provider is: a registry reference, oci:FOLDER[:NAME] or oci-archive:FILE[:NAME].", valueName: "source"),
        transform: LocationText.parsing)
    var sourceText: LocationText

    @Argument(
        help: ArgumentHelp("Where to copy it: a registry reference, oci:FOLDER[:NAME] or oci-archive:FILE[:NAME].", valueName: "destination"),
        transform: LocationText.parsing)
    var destinationText: LocationText

    var source: ProviderLocation { sourceText.location }
    var destination: ProviderLocation { destinationText.location }

    @OptionGroup(title: "Registry (for either side that is one)") var registry: RegistryOptions

    @OptionGroup(title: "Source registry (before the flags above)") var sourceRegistry: SideRegistryFlags<SourceSide>

    @OptionGroup(title: "Destination registry (before the flags above)") var destinationRegistry: SideRegistryFlags<DestinationSide>

    @OptionGroup(title: "Trust") var trust: TrustOptions

    @OptionGroup var output: OutputOptions

    func validate() throws {
        if source == destination { throw ValidationError("the source and the destination are the same: name another destination") }
    }

    func run() async throws {
        try await output.runAsync { console in
            // Standard input is read once: both sides may need the password it holds.
            var (sourceSide, destinationSide) = (sourceRegistry.side, destinationRegistry.side)
            if registry.passwordStdin {
                let environment = ProcessInfo.processInfo.environment
                let shared = try await offload { [registry] in try registry.standardInputCredentials(environment: environment) }
                if sourceSide.user == nil { (sourceSide.user, sourceSide.password) = (shared.user, shared.password) }
                if destinationSide.user == nil { (destinationSide.user, destinationSide.password) = (shared.user, shared.password) }
            }
            let from = try await client(for: source, console: console, side: sourceSide)
            let result = try await closing(from) { from in
                let to = try await client(for: destination, console: console, side: destinationSide)
                return try await closing(to) { to in
                    // A layout side has no client; it still takes --allow-latest.
                    let layoutSide = ProviderRegistry(allowsLatest: registry.allowLatest)
                    let copier = ProviderCopier(source: from ?? layoutSide, destination: to ?? layoutSide, policy: trust.policy)
                    return try await console.withTransferProgress("copying") { progress in
                        try await copier.copy(from: source, to: destination, progress: progress)
                    }
                }
            }
            let what = result.isIndex ? "an image index of \(result.archives.count) platform slices" : "a provider archive"
            return CommandResult(
                text: [
                    "Copied \(what) from \(source) to \(destination), every archive verified",
                    "Digest: \(result.digest.ociDigest)",
                    "Blobs: \(result.copiedBlobs) copied, \(result.existingBlobs) already there"
                        + (result.mountedBlobs > 0 ? ", \(result.mountedBlobs) mounted from the source's repository" : ""),
                ],
                json: [
                    ("source", .string(source.description)), ("destination", .string(destination.description)),
                    ("name", .string(result.name)), ("digest", .string(result.digest.ociDigest)), ("index", .bool(result.isIndex)),
                    ("archives", .integer(UInt64(result.archives.count))), ("copied_blobs", .integer(UInt64(result.copiedBlobs))),
                    ("existing_blobs", .integer(UInt64(result.existingBlobs))), ("mounted_blobs", .integer(UInt64(result.mountedBlobs))),
                ])
        }
    }

    /// A client for a registry side; `nil` for a layout.
    private func client(for location: ProviderLocation, console: Console, side: SideRegistryOptions) async throws -> ProviderRegistry? {
        guard case .registry(let reference) = location else { return nil }
        return try await registry.client(for: reference, console: console, side: side)
    }
}
