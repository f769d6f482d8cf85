import ArgumentParser
import Foundation
import PARRegistry
import ProviderArchiveKit

/// `par push`: upload an archive to an OCI registry, as `wash push` does.
struct PushCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Push an archive to an OCI registry (verified first).",
        discussion: "URL is REGISTRY[:PORT]/REPOSITORY:TAG, such as localhost:5000/providers/http-server:0.23.0, or REPOSITORY:TAG with -r/--registry."
    )

    @Argument(help: "Where to push: REGISTRY/REPOSITORY:TAG (lowercased, as wash does).")
    var url: String

    @Argument(help: "The archive file.")
    var artifact: String

    @Option(name: .shortAndLong, help: "The registry, for a URL without one (env WASH_REG_URL).")
    var registryURL: String?

    @Option(name: .shortAndLong, help: "A file to push as the config blob (default: {}).")
    var config: String?

    @Option(name: [.customShort("a"), .customLong("annotation")], help: "A manifest annotation KEY=VALUE; repeat for several.")
    var annotations: [String] = []

    @Flag(help: "Upload each blob in one request instead of chunks (env WASH_MONOLITHIC_PUSH).")
    var monolithicPush = false

    @OptionGroup(title: "Registry")
    var registry: RegistryOptions

    @OptionGroup var output: OutputOptions

    func run() async throws {
        let console = Console(format: output.format)
        try await console.run {
            let reference = try parseReference(url, registry: registryURL)
            let pairs = try annotations.map { text -> (key: String, value: String) in
                guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
                    throw CLIError("--annotation \(text) is not KEY=VALUE")
                }
                return (String(text[..<equals]), String(text[text.index(after: equals)...]))
            }
            let configBytes = try config.map { try readFile($0, flag: "--config") } ?? Array("{}".utf8)
            guard FileManager.default.fileExists(atPath: artifact) else {
                throw CLIError("cannot open \(artifact): no such file or directory; check the path")
            }
            var client = try registry.client(for: reference, console: console)
            client.monolithicPush = monolithicPush || isTrue(ProcessInfo.processInfo.environment["WASH_MONOLITHIC_PUSH"])
            let result = try await console.withProgress("pushing") { progress in
                try await client.push(
                    archiveAt: artifact, to: reference, config: configBytes, annotations: pairs,
                    allowLatest: registry.allowLatest, progress: progress)
            }
            let url = "\(reference.registry)/\(reference.repository):\(result.tag)"
            switch console.format {
            case .text:
                console.print("Successfully pushed \(url)")
                console.print("\(result.tag): digest: \(result.manifestDigest)")
            case .json:
                console.printJSON([
                    ("url", .string(url)), ("digest", .string(result.manifestDigest.description)), ("tag", .string(result.tag)),
                    ("uploaded_blobs", .integer(result.uploadedBlobs)), ("existing_blobs", .integer(result.existingBlobs)),
                ])
            }
        }
    }
}

/// An environment flag as clap reads a boolean: `true`, `1`, `yes`, `on`.
func isTrue(_ value: String?) -> Bool {
    guard let value else { return false }
    return ["true", "1", "yes", "on"].contains(value.lowercased())
}
