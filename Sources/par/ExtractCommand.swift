import ArgumentParser
import Foundation
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

    @Option(name: .shortAndLong, help: "The target, as ARCH-OS, or native (the default).")
    var target: String?

    @Option(help: "Where to write the binary (default: ./ARCHIVE-TARGET).")
    var destination: String?

    @OptionGroup(title: "Trust")
    var trust: TrustOptions

    @OptionGroup var output: OutputOptions

    func run() throws {
        let console = Console(format: output.format)
        try console.run {
            let target = try parseTarget(target)
            let destination = destination ?? "./\(archiveStem(archive))-\(target.name)"
            try checkDestinationFolder(destination, flag: "--destination")
            let policy = try trust.policy()
            let report = try console.withProgress("extracting") { progress in
                try ProviderArchive.extract(target, fromArchiveAt: archive, to: destination, policy: policy, progress: progress)
            }
            let info = report.targets[target]
            switch console.format {
            case .text:
                console.print("Extracted \(target) (\(formatBytes(info?.size ?? 0)), verified) to \(destination)")
            case .json:
                console.printJSON([
                    ("file", .string(destination)), ("target", .string(target.name)),
                    ("size", .optional(info?.size)), ("sha256", .optional(info?.hash.hex)),
                    ("issuer", .string(report.claims.issuer.encoded)), ("service", .string(report.claims.subject.encoded)),
                ])
            }
        }
    }
}

/// Which archives to trust, for the commands that verify (extract, verify, pull): par's own
/// flags, named so they mean nothing else in wash (whose `--issuer` is a signing seed).
struct TrustOptions: ParsableArguments {
    @Option(name: .customLong("trusted-issuer"), help: "An account public key to trust; repeat for several. Default: any.")
    var issuers: [String] = []

    @Flag(help: "Accept claims that have expired or are not valid yet.")
    var allowExpired = false

    /// The verification policy the flags ask for.
    func policy() throws -> VerificationPolicy {
        VerificationPolicy(trustedIssuers: try parseTrustedIssuers(issuers), allowsExpired: allowExpired)
    }
}
