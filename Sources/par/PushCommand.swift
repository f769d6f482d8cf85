import ArgumentParser
import Foundation
import PARRegistry
import ProviderArchiveKit

/// `par push`: upload an archive to an OCI registry, as `wash push` does.
struct PushCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Push an archive to an OCI registry (verified first).",
        discussion: "REF is REGISTRY[:PORT]/REPOSITORY:TAG, such as localhost:5000/providers/http-server:0.23.0."
    )

    @Argument(help: "Where to push: REGISTRY/REPOSITORY:TAG.")
    var reference: String

    @Argument(help: "The archive file.")
    var archive: String

    @Option(help: "A file to push as the config blob (default: {}).")
    var config: String?

    @Option(name: .customLong("annotation"), help: "A manifest annotation KEY=VALUE; repeat for several.")
    var annotations: [String] = []

    @OptionGroup(title: "Registry")
    var registry: RegistryOptions

    @OptionGroup var output: OutputOptions

    func run() async throws {
        let console = Console(format: output.format)
        try await console.run {
            let reference = try parseReference(reference)
            let pairs = try annotations.map { text -> (key: String, value: String) in
                guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
                    throw CLIError("--annotation \(text) is not KEY=VALUE")
                }
                return (String(text[..<equals]), String(text[text.index(after: equals)...]))
            }
            let configBytes = try config.map { try readFile($0, flag: "--config") } ?? Array("{}".utf8)
            guard FileManager.default.fileExists(atPath: archive) else {
                throw CLIError("cannot open \(archive): no such file or directory; check the path")
            }
            let client = try registry.client(for: reference, console: console)
            let progress = console.progress("pushing")
            defer { progress.finish() }
            let result = try await client.push(
                archiveAt: archive, to: reference, config: configBytes, annotations: pairs,
                allowLatest: registry.allowLatest, progress: { progress.update($0, of: $1) })
            progress.finish()
            switch console.format {
            case .text:
                console.print("Pushed \(archive) to \(reference.registry)/\(reference.repository):\(result.tag)")
                console.print("Digest: \(result.manifestDigest)")
            case .json:
                console.printJSON(.object([
                    ("reference", .string(result.reference.description)), ("tag", .string(result.tag)),
                    ("digest", .string(result.manifestDigest.description)), ("uploaded_blobs", .integer(result.uploadedBlobs)),
                    ("existing_blobs", .integer(result.existingBlobs)),
                ]))
            }
        }
    }
}
