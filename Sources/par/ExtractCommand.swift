import ArgumentParser
import Foundation
import ProviderArchiveKit

/// `par extract`: verify an archive, then write one target's binary (mode 0755).
struct ExtractCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extract",
        abstract: "Verify an archive and write one target's binary to a file (mode 0755).",
        discussion: """
            Streams: memory stays small whatever the archive's size. The file appears only once \
            everything verified. Here --output is the file's path; use --format json for JSON.
            """
    )

    @Argument(help: "The archive to extract from.")
    var archive: String

    @Option(name: .shortAndLong, help: "The target, as ARCH-OS, or native (the default).")
    var target: String?

    @Option(name: .shortAndLong, help: "Where to write the binary (default: ./ARCHIVE-TARGET).")
    var output: String?

    @Option(name: .long, help: "Output format: text or json.")
    var format: OutputFormat = .text

    @Option(name: .customLong("issuer"), help: "An account public key to trust; repeat for several. Default: any.")
    var issuers: [String] = []

    @Flag(help: "Accept claims that have expired or are not valid yet.")
    var allowExpired = false

    func run() throws {
        let console = Console(format: format)
        try console.run {
            let target = try parseTarget(target)
            let trusted = try parseTrustedIssuers(issuers)
            let destination = output ?? "./\(archiveStem(archive))-\(target.name)"
            try checkDestinationFolder(destination, flag: "--output")
            let policy = VerificationPolicy(trustedIssuers: trusted, allowsExpired: allowExpired)
            let report = try console.withProgress("extracting") { progress in
                try ProviderArchive.extract(target, fromArchiveAt: archive, to: destination, policy: policy, progress: progress)
            }
            let info = report.targets[target]
            switch console.format {
            case .text:
                console.print("Extracted \(target) (\(formatBytes(info?.size ?? 0)), verified) to \(destination)")
            case .json:
                console.printJSON(.object([
                    ("file", .string(destination)), ("target", .string(target.name)),
                    ("size", .optional(info?.size)), ("sha256", .optional(info?.hash.hex)),
                    ("issuer", .string(report.claims.issuer.encoded)), ("service", .string(report.claims.subject.encoded)),
                ]))
            }
        }
    }
}
