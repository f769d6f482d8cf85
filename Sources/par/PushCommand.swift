import ArgumentParser
import PARClaims
import Foundation
import PARBytes
import PARRegistry

/// `par push`: upload an archive to an OCI registry, as `wash push` does.
struct PushCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Push an archive to an OCI registry (verified first).",
        discussion: "URL is REGISTRY[:PORT]/REPOSITORY:TAG, such as localhost:5000/providers/http-server:0.23.0, or REPOSITORY:TAG with -r/--registry."
    )

    @OptionGroup var remote: RegistryReferenceOptions

    @Argument(help: "The archive file.")
    var artifact: String

    @Option(name: .shortAndLong, help: "A file to push as the config blob (default: {}).")
    var config: String?

    @Option(
        name: [.customShort("a"), .customLong("annotation")], help: "A manifest annotation KEY=VALUE; repeat for several.",
        transform: Annotation.parsing)
    var annotations: [Annotation] = []

    @Flag(help: "Upload each blob in one request instead of chunks (env WASH_MONOLITHIC_PUSH).")
    var monolithicPush = false

    @Flag(help: "Push one platform slice per target and an OCI image index of them, so each host downloads only its own binary.")
    var platformSlices = false

    @Flag(help: "With --platform-slices, also tag each slice TAG-OS-ARCH (such as 0.23.0-linux-amd64), for hosts that pull one slice by tag.")
    var sliceTags = false

    func validate() throws {
        if sliceTags, !platformSlices { throw ValidationError("--slice-tags tags the slices of --platform-slices: give both") }
    }

    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await output.runAsync { console in
            let configBytes = try config.map { try readFile($0, flag: "--config", limit: InputLimits.config) } ?? Array("{}".utf8)
            guard FileManager.default.fileExists(atPath: artifact) else {
                throw CLIError("cannot open \(artifact): no such file or directory; check the path")
            }
            let pairs = annotations.map { (key: $0.key, value: $0.value) }
            if let layout = remote.layout { return try await pushIntoLayout(layout, config: configBytes, annotations: pairs) }
            let reference = try remote.reference
            if platformSlices {
                let result = try await withClient(for: reference, console: console) { client in
                    try await console.withTransferProgress("pushing slices") { progress in
                        try await client.pushSlices(
                            archiveAt: artifact, to: reference, config: configBytes, annotations: pairs, sliceTags: sliceTags, progress: progress)
                    }
                }
                let url = "\(reference.registry)/\(reference.repository):\(result.tag)"
                let lines = result.slices.map { slice in
                    "  \(slice.platform.description.padding(toLength: 16, withPad: " ", startingAt: 0))\((slice.target?.name ?? "").padding(toLength: 18, withPad: " ", startingAt: 0))\(formatBytes(slice.layer.size).padding(toLength: 12, withPad: " ", startingAt: 0))\(slice.manifestDigest.ociDigest)"
                        + (slice.tag.map { "  \($0)" } ?? "")
                }
                return CommandResult(
                    text: ["Successfully pushed \(url) as an image index of \(result.slices.count) platform slices",
                           "\(result.tag): digest: \(result.indexDigest.ociDigest)"] + lines,
                    json: [
                        ("url", .string(url)), ("digest", .string(result.indexDigest.ociDigest)), ("tag", .string(result.tag)),
                        ("uploaded_blobs", .integer(result.uploadedBlobs)), ("existing_blobs", .integer(result.existingBlobs)),
                        ("slices", sliceDetails(result.slices)),
                    ])
            }
            let result = try await withClient(for: reference, console: console) { client in
                try await console.withTransferProgress("pushing") { progress in
                    try await client.push(archiveAt: artifact, to: reference, config: configBytes, annotations: pairs, progress: progress)
                }
            }
            let url = "\(reference.registry)/\(reference.repository):\(result.tag)"
            return CommandResult(
                text: ["Successfully pushed \(url)", "\(result.tag): digest: \(result.manifestDigest.ociDigest)"],
                json: [
                    ("url", .string(url)), ("digest", .string(result.manifestDigest.ociDigest)), ("tag", .string(result.tag)),
                    ("uploaded_blobs", .integer(result.uploadedBlobs)), ("existing_blobs", .integer(result.existingBlobs)),
                ])
        }
    }

    /// Runs `body` with the registry client the flags describe, uploading blobs in one request
    /// each when asked, and shut down after (``RegistryOptions/withClient(for:console:_:)``).
    private func withClient<Result>(
        for reference: ImageReference, console: Console, _ body: (ProviderRegistry) async throws -> Result
    ) async throws -> Result {
        try await remote.registry.withClient(for: reference, console: console) { client in
            var client = client
            client.monolithicPush = monolithicPush || isTrue(ProcessInfo.processInfo.environment["WASH_MONOLITHIC_PUSH"])
            return try await body(client)
        }
    }

    /// A push into an image layout: the same shapes, written into the folder or tar.
    private func pushIntoLayout(
        _ layout: OCILayoutReference, config: [UInt8], annotations: [(key: String, value: String)]
    ) async throws -> CommandResult {
        let result: ProviderRegistry.LayoutPushResult
        do {
            result = try await ProviderRegistry.push(
                archiveAt: artifact, toLayout: layout, config: config, annotations: annotations, platformSlices: platformSlices,
                sliceTags: sliceTags, allowsLatest: remote.registry.allowLatest)
        } catch {
            throw CLIError(ErrorHints.message(for: error))
        }
        let what = platformSlices ? " as an image index of \(result.slices.count) platform slices" : ""
        var json: [(key: String, value: JSONValue)] = [
            ("url", .string(layout.description)), ("digest", .string(result.digest.ociDigest)), ("tag", .string(result.name)),
        ]
        if platformSlices { json.append(("slices", sliceDetails(result.slices))) }
        return CommandResult(
            text: ["Successfully pushed \(layout)\(what)", "\(result.name): digest: \(result.digest.ociDigest)"], json: json)
    }
}

/// `-a/--annotation KEY=VALUE`.
struct Annotation: CommandLineValue {
    let key: String
    let value: String

    init(commandLine text: String) throws {
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
            throw CLIError("not KEY=VALUE")
        }
        key = String(text[..<equals])
        value = String(text[text.index(after: equals)...])
    }
}

/// An environment flag as clap reads a boolean: `true`, `1`, `yes`, `on`.
func isTrue(_ value: String?) -> Bool {
    guard let value else { return false }
    return ["true", "1", "yes", "on"].contains(value.lowercased())
}
