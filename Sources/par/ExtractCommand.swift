import ArgumentParser
import Foundation
import PARBytes
import PARClaims
import ProviderArchiveKit

/// `par extract`: verify an archive, then write one target's binary (mode 0755). wash has no
/// such command; its flags follow par's others (`--destination`, `-o` for the format).
struct ExtractCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extract",
        abstract: "Verify an archive and write one target's binary to a file (mode 0755).",
        discussion: "Streams: memory stays small whatever the archive's size. The file appears only once everything verified."
    )

    @Argument(help: "The archive to extract from.")
    var archive: String

    @Option(name: .shortAndLong, help: "The target, as ARCH-OS, or native (the default).", transform: Target.parsing)
    var target: Target = .native

    @Option(help: "Where to write the binary (default: ./ARCHIVE-TARGET).")
    var destination: String?

    @OptionGroup(title: "Trust") var trust: TrustOptions

    @OptionGroup var output: OutputOptions

    func run() throws {
        try output.run { console in
            let destination = destination ?? "./\(archiveStem(archive))-\(target.name)"
            try checkDestinationFolder(destination, flag: "--destination")
            let report = try console.withProgress("extracting") { progress in
                try ProviderArchive.extract(target, fromArchiveAt: archive, to: destination, policy: trust.policy, progress: progress)
            }
            let info = report.targets[target]
            return CommandResult(
                text: ["Extracted \(target) (\(formatBytes(info?.size ?? 0)), verified) to \(destination)"],
                json: [
                    ("file", .string(destination)), ("target", .string(target.name)),
                    ("size", .optional(info?.size)), ("sha256", .optional(info?.hash.hex)),
                    ("issuer", .string(report.claims.issuer.encoded)), ("service", .string(report.claims.subject.encoded)),
                ])
        }
    }
}
