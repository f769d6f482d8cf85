import ArgumentParser
import PARBytes
import PARClaims
import ProviderArchiveKit

/// `par verify`: exit 0 when an archive is valid, 1 with the reason when not. wash has no
/// such command.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify an archive: signature, issuer, every hash, every claimed target, expiry.",
        discussion: "Exits 0 when valid; 1 with one line on stderr saying what failed."
    )

    @Argument(help: "The archive to verify: a file, or a registry reference (REGISTRY/REPOSITORY:TAG).")
    var archive: String

    @OptionGroup(title: "Registry (when ARCHIVE is a reference)") var registry: RegistryOptions

    @Option(
        name: .customLong("target"), help: "A target that must be present (ARCH-OS or native); repeat for several.",
        transform: Target.parsing)
    var targets: [Target] = []

    @OptionGroup(title: "Trust") var trust: TrustOptions

    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await output.runAsync { console in
            let (file, cleanup) = try await localArchive(archive, registry: registry, digest: nil, console: console)
            defer { cleanup() }
            let report: VerifiedArchive
            do {
                report = try console.withProgress("verifying") { progress in
                    try ProviderArchive.verify(path: file, requiredTargets: targets, policy: trust.policy, progress: progress)
                }
            } catch {
                throw CLIError("\(archive): \(error)")
            }
            let claims = report.claims
            let name = claims.metadata.name ?? "Unnamed Provider"
            let version = claims.metadata.version.map { " \($0)" } ?? ""
            let targetList = report.targets.keys.sorted().map(\.name).joined(separator: ", ")
            return CommandResult(
                text: ["\(archive): valid (\(name)\(version), signed by \(claims.issuer), targets: \(targetList))"],
                json: [("file", .string(archive)), ("valid", .bool(true))] + washSummary(claims)
                    + [("target_details", entryDetails(report))])
        }
    }
}
